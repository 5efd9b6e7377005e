"""Text-message conversations: Twilio's webhooks, the reply dialogue, STOP/START/HELP."""
