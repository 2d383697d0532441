"""HTTP API of the hub: the partner API and the documents partners fetch (JWKS)."""
