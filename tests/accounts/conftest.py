"""Fixtures of the accounts tests: none of their own. They use the harness of tests/conftest.py and
make organizers and tokens with tests/factories.py (organizer, token_for, sign_in)."""
