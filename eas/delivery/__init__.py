"""Sending prompts and logging every message in and out."""
