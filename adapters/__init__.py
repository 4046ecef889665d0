"""arccm's adapters: persistence, delivery, and the composition root."""
