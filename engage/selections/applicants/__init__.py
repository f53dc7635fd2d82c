"""Adding applicants to a selection from the console: one at a time, several pasted as lines, or a
consenting nominee in one click; all of it only until the democratic assessment opens."""
