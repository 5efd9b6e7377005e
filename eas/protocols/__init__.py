"""Protocol files: the YAML format, its validation and its JSON Schema."""
