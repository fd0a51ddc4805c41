"""Recommendations and their answers (issue 19)."""
