"""What the hub keeps in Redis: the token replay store (queues come with the jobs)."""
