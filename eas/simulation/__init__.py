"""Piloting a protocol in virtual time through the real pipeline: `eas simulate`."""
