"""Bounded fault-injection soak of the integration (run with scripts/soak)."""
