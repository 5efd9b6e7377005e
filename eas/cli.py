"""The `eas` command: Flask's CLI around the app factory, so it works from any folder."""

from __future__ import annotations

from flask.cli import FlaskGroup

from eas.app import create_app

cli = FlaskGroup(
    create_app=create_app,
    load_dotenv=False,
    help="eas: run EMA studies. Database commands: `eas db upgrade`; see each command's --help.",
)
