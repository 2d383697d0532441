"""Partner API token checks, key registration and the replay store."""
