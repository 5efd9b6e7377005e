"""Studies and their immutable protocol versions."""
