"""Participants: enrolment, time zones and their history."""
