"""The application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from eas.config import build_config, instance_path_from_environment
from eas.core.clock import SystemClock, install_clock
from eas.core.crypto import init_cipher
from eas.core.db import db
from eas.core.db_migrate import init_migrations


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        "eas",
        instance_path=instance_path_from_environment(),
        template_folder="web/templates",
        static_folder="web/static",
    )
    app.config.update(build_config(app.instance_path, config))
    if app.config["EAS_TRUSTED_PROXIES"]:
        # Scheme and host as the proxy saw them: webhook signatures are over the public URL.
        count = app.config["EAS_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    import eas.models  # noqa: F401  (registers every table on the metadata)

    db.init_app(app)
    init_migrations(app, db)
    init_cipher(app)
    install_clock(app, SystemClock())

    from eas.api import init_api
    from eas.delivery.cli import run_command, scheduler_command
    from eas.export.cli import export_command
    from eas.participants.cli import participants_cli
    from eas.protocols.cli import protocol_cli
    from eas.safety.cli import alerts_cli, keys_cli
    from eas.scheduling.cli import schedule_cli
    from eas.simulation.cli import simulate_command
    from eas.studies.cli import study_cli
    from eas.users.cli import users_cli
    from eas.web import init_web

    for command in (
        protocol_cli,
        study_cli,
        participants_cli,
        schedule_cli,
        scheduler_command,
        run_command,
        export_command,
        simulate_command,
        alerts_cli,
        keys_cli,
        users_cli,
    ):
        app.cli.add_command(command)
    init_web(app)
    init_api(app)
    return app
