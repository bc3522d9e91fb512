"""Tests of the storage layer: SQLite database, Redis and embedded work stores."""
