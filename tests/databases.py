"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database.

`EAS_TEST_BACKEND` picks the backend of the whole suite (sqlite by default); PostgreSQL needs
`EAS_TEST_POSTGRES_URL` (a server URL; each run creates and drops its own databases). With
`EAS_REQUIRE_POSTGRES=1` (CI), a missing server fails the run instead of skipping.

Under pytest-xdist each worker makes its own: a PostgreSQL database's name carries the worker's
id (gw0, gw1, ...) besides a random part, and a SQLite file is in the worker's own tmp_path.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa


def suite_backend() -> str:
    return os.environ.get("EAS_TEST_BACKEND", "sqlite")


def _worker() -> str:
    """The pytest-xdist worker this process is ("gw0", ...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def require_postgres() -> str:
    url = os.environ.get("EAS_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("EAS_REQUIRE_POSTGRES") == "1":
            pytest.fail("EAS_REQUIRE_POSTGRES=1 but EAS_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests need EAS_TEST_POSTGRES_URL (see .ci/run)")
    return url


@contextmanager
def temporary_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / f'eas-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    server_url = sa.make_url(require_postgres())
    name = f"eas_test_{_worker()}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
