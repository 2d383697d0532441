"""Alembic migrations of the hub's schema."""
