"""The importer from the replaced system (issue 14, docs/import.md)."""
