"""Responses to prompts and their per-item answers."""
