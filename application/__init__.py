"""arccm's application layer: ports and use cases."""
