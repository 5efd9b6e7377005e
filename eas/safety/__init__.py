"""Participant safety: alerts raised by answers, and the people they must reach."""
