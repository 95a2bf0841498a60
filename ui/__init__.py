"""The Streamlit app; it talks to the HTTP API only, never to the database (issue 8)."""
