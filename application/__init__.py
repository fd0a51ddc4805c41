"""Use cases: the event-sourced application and its commands and queries."""
