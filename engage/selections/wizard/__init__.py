"""The selection wizard: from nothing to a draft, one checked step at a time."""
