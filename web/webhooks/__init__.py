"""Webhook subscriptions (admin)."""
