"""Fixtures of the audit tests: none of their own; `db` and `settings` of tests/conftest.py."""
