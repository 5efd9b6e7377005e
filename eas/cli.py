"""The `eas` command: Flask's CLI around the app factory, so it works from any folder."""

from __future__ import annotations

from flask.cli import FlaskGroup, routes_command, shell_command

from eas.app import create_app

# Flask's own `run` would serve the web app without the dispatcher; eas registers its own.
cli = FlaskGroup(
    create_app=create_app,
    load_dotenv=False,
    add_default_commands=False,
    help="eas: run EMA studies. Database commands: `eas db upgrade`; see each command's --help.",
)
cli.add_command(shell_command)
cli.add_command(routes_command)
