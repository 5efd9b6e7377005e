from __future__ import annotations

import click
from flask.cli import AppGroup

from eas.protocols.json_schema import protocol_json_schema_text
from eas.protocols.validation import ProtocolInvalid, validate_protocol_file

protocol_cli = AppGroup("protocol", help="Check protocol files and print their JSON Schema.")


@protocol_cli.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def validate_command(paths: tuple[str, ...]) -> None:
    """Validate protocol files; print every error as file:line:column: field: message.

    Warnings (valid, but probably not meant) are printed the same way after "warning:" and do
    not fail the check."""
    failed = False
    for path in paths:
        try:
            protocol = validate_protocol_file(path)
        except ProtocolInvalid as exc:
            failed = True
            for error in exc.errors:
                click.echo(str(error))
            click.echo(f"{path}: {len(exc.errors)} error(s)", err=True)
            continue
        definition = protocol.definition
        for warning in protocol.warnings:
            click.echo(f"warning: {warning}")
        click.echo(
            f"{path}: ok (study {protocol.study_id}: {len(definition['questionnaires'])} "
            f"questionnaires, {len(definition['schedules'])} schedules, "
            f"{len(definition['alerts'])} alerts)"
        )
    if failed:
        raise SystemExit(1)


@protocol_cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the protocol format."""
    click.echo(protocol_json_schema_text())
