"""Database access: engine, sessions and the typed table models."""
