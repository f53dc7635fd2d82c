"""Inviting evaluators and speech raters from the console, with the texts and their cost shown first."""
