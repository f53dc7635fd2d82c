"""The irreversible steps of a selection, each behind a confirmation page that rehearses it first."""
