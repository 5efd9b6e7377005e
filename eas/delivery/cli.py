from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext
from prometheus_client import start_http_server
from werkzeug.serving import run_simple

from eas.config import is_reloader_parent, remember_served_at, running_under_gunicorn
from eas.delivery.runner import DispatchTimer, build_dispatcher


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # APScheduler reports every run of the timer at INFO: that is noise, not news. The Twilio
    # SDK logs each request at INFO, with its query (a lookup's To: a participant's number).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run one tick and exit (for cron or a check).")
@click.option(
    "--metrics-port", type=int, help="Serve this process's Prometheus metrics on this port."
)
@with_appcontext
def scheduler_command(once: bool, metrics_port: int | None) -> None:
    """Run the dispatcher alone: send due prompts until stopped (production: one or more of
    these beside the web app, sharing the database)."""
    _configure_logging()
    if metrics_port:
        start_http_server(metrics_port)
    app = current_app._get_current_object()
    dispatcher = build_dispatcher(app)
    if once:
        report = dispatcher.tick()
        dispatcher.close()
        click.echo(f"sent {report.sent}, retried {report.retried}, failed {report.failed}, "
                   f"expired {report.expired}, reconciled {report.reconciled}, "
                   f"reminders {report.reminders}")  # fmt: skip
        return
    click.echo(f"dispatcher {dispatcher.name} running; Ctrl+C or SIGTERM stops it")
    timer = DispatchTimer(app, dispatcher, blocking=True)
    timer.stop_on_signals()
    try:
        timer.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        timer.stop()


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
@click.option("--no-dispatcher", is_flag=True, help="Serve the web app only.")
@with_appcontext
def run_command(host: str, port: int, reload: bool, no_dispatcher: bool) -> None:
    """Run the web app and the dispatcher in one process (the embedded default)."""
    if running_under_gunicorn():
        raise click.ClickException(
            "refusing to start a dispatcher inside a gunicorn worker: run `eas scheduler`"
        )
    _configure_logging()
    app = current_app._get_current_object()
    _announce_address(app, host, port)
    timer = None
    if not no_dispatcher and not is_reloader_parent(reload):
        timer = DispatchTimer(app, build_dispatcher(app), blocking=False)
        timer.stop_on_signals()  # the server stops as on Ctrl+C, then the dispatcher
        timer.start()
    try:
        # Werkzeug's server directly: Flask's app.run() declines to run inside its own CLI.
        run_simple(host, port, app, use_reloader=reload, use_debugger=False, threaded=True)
    finally:
        if timer is not None:
            timer.stop()


def _announce_address(app, host: str, port: int) -> None:
    """Links sent in texts point at EAS_PUBLIC_BASE_URL, or else at this server."""
    if app.config.get("EAS_PUBLIC_BASE_URL"):
        click.echo(f"links in texts point at {app.config['EAS_PUBLIC_BASE_URL']}")
        return
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    app.config["EAS_SERVED_AT"] = url
    remember_served_at(app.instance_path, url)  # for `eas participants link` beside it
    click.echo(f"links in texts point at {url} (set EAS_PUBLIC_BASE_URL for the address "
               "participants' phones reach)")  # fmt: skip
