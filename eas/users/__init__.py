"""Coordinator accounts."""
