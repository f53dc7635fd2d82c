"""Competitive selection: the pure rules (red line, differential margin, scoring) and their services."""
