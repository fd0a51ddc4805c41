"""The event feed for integrating systems: pages, a server-sent stream, the catalogue."""
