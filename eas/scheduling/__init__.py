"""Planning prompts in each participant's own day."""
