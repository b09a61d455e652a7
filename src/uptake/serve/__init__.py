"""The OpenAI-compatible server. `create_app` builds the ASGI app; `run_server` runs it with uvicorn."""
