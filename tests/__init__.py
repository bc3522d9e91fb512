"""Tests for Home Security Intelligence."""
