"""Storage: the SQLite database and the batch/queue stores (Redis or embedded)."""
