"""Thematic and joint inspections (issue 19)."""
