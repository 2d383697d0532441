"""HTTP API of the hub: the partner API, the staff API and the documents partners fetch."""
