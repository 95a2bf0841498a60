"""The HTTP API (FastAPI): routes that parse, call `api.services`, and present."""
