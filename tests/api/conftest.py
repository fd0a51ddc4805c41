"""Fixtures for the HTTP tests: ``api`` (a Flask test client with a token per role) on each backend."""

from tests.api.api_client import api  # noqa: F401 - re-exported as a fixture for every test module here
