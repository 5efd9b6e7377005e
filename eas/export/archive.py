"""The export package as one zip, for the dashboard and the API: built from one consistent
state of the database, without holding the write lock while it is built."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from eas.audit.operations import record
from eas.core.db import begin_write, db
from eas.export.operations import ExportResult, export_study
from eas.studies.models import Study


@contextmanager
def read_snapshot() -> Iterator[None]:
    """Reads inside see one state of the database: on SQLite a read transaction does (and,
    unlike a writer's, lets the dispatcher and webhooks write meanwhile); on PostgreSQL it
    takes REPEATABLE READ, as READ COMMITTED would let each query see later commits.

    The request must not have written before (its transaction is ended here); afterwards a
    writer's transaction is begun, for the audit record of what was read.
    """
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read snapshot cannot start after changes in the same request")
    session.rollback()
    # Only for a session of its own: tests bind the session to a connection already in a
    # transaction, whose isolation cannot change.
    if (
        isinstance(session.get_bind(), sa.Engine)
        and session.get_bind().dialect.name == "postgresql"
    ):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        yield
    finally:
        session.rollback()
    begin_write()


def zipped_export(
    study: Study, now: datetime, *, fmt: str = "csv", wide: bool = True, since=None
) -> tuple[IO[bytes], ExportResult]:
    """The package zipped into an anonymous temporary file (gone once closed), so a big study
    does not sit in memory; its tables under `<slug>/`."""
    slug = study.slug
    archive_file = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    try:
        with read_snapshot(), tempfile.TemporaryDirectory(prefix="eas-export-") as folder:
            export = Path(folder) / "export"
            result = export_study(study, export, now=now, fmt=fmt, wide=wide, since=since)
            with zipfile.ZipFile(archive_file, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(export.iterdir()):
                    archive.write(path, f"{slug}/{path.name}")
    except BaseException:
        archive_file.close()
        raise
    archive_file.seek(0)
    return archive_file, result


def record_export(
    study: Study,
    result: ExportResult,
    *,
    fmt: str,
    actor: str,
    via: str,
    user_id: int | None = None,
) -> None:
    """The audit log's entry for an export: who took which tables of the study, and how (the
    dashboard, the API or the command line)."""
    record(
        "study.exported",
        actor=actor,
        user_id=user_id,
        study_id=study.id,
        format=fmt,
        rows=result.rows,
        via=via,
    )
