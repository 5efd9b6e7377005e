"""Web prompts: questionnaires answered on a mobile page opened from a link in a text."""
