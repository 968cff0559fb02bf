"""Placeholder (issue #13): filled in by its owner."""
