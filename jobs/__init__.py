"""rq job functions: a few lines each, calling services (enqueued by dotted name)."""
