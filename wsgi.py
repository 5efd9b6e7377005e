"""WSGI entry point for gunicorn and the like: `gunicorn wsgi:app`. Starts no scheduler."""

from eas import create_app

app = create_app()
