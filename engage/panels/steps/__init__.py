"""The panel's irreversible steps on the organizer pages (freeze, draw, invite, call a reserve), each behind
a page that says what it will do (`web/organizer.py`)."""
