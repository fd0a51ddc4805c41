"""Tracked projections: the read views' tables and the mechanism that keeps them current."""
