"""Fixtures of the panels tests: none of their own. `panel_district` (a live server with 300 volunteers,
texting through the fake gateway), `panel_staff` (300 volunteers and an organizer's headers, for the
test client) and `signup_district` are in tests/conftest.py, because the selections and residents tests
use them too."""
