"""HTTP delivery (FastAPI): as thin as the CLI — every route parses, calls one use case or read model with an
``Actor`` loaded from the database, and maps the ``Result`` to a response or an RFC 9457 problem."""
