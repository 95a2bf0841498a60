"""Use cases, one module per family; the CLI and the HTTP API both call these, so they cannot disagree."""
