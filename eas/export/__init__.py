"""The study's product: a Frictionless data package of tidy longitudinal tables."""
