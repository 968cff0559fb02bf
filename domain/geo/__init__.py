"""Geometry for display: coverage simplification, compact encoding, the display datum."""
