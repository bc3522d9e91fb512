"""Tests for the pipeline stages."""
