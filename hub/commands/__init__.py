"""CLI command groups; each module adds its group to the ``hub`` command."""
