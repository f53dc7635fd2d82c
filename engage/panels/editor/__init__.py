"""The panel's form and quota editor on the organizer pages (`web/organizer.py`), and the parsing of
their fields (`forms.py`, pure)."""
