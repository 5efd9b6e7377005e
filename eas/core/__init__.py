"""Shared machinery: database, clock, encryption, CLI group."""
