"""Fixtures of the selections tests: none of their own. They stand on `panel_district` (the grand jury
scores a selection) and `signup_district` (a resident nominates) of tests/conftest.py."""
