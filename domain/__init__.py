"""arccm's pure domain: stdlib, attrs and returns only."""
