"""Adapters: event store recorders, SQL read side, configuration, calendars."""
