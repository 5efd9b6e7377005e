"""eas: a platform for ecological momentary assessment (experience sampling) studies."""

from eas.app import create_app

__all__ = ["create_app"]
