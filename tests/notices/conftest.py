"""Fixtures of the notices tests: none of their own. `notice_district` (a live server texting through
the fake gateway, with an organizer's API client) and `notice_staff` are in tests/conftest.py, because
the console and residents tests use them too."""
