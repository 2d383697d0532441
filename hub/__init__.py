"""Joint-sanction data exchange hub: courts' registers out to 44 partners."""
