"""Fixtures of the home domain's tests (the desk and the audit page): none of its own yet; the
harness and the shared districts are in tests/conftest.py."""
