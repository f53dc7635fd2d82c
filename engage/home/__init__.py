"""The home page, the organizer desk and the language switch: the pages that belong to no one domain."""
