"""The models and the migrations describe the same schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from eas import create_app
from eas.core.db import db
from tests.conftest import make_test_config
from tests.databases import temporary_database


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_match_models_and_round_trip(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        app = create_app(make_test_config(url, tmp_path))
        with app.app_context():
            flask_migrate.upgrade()
            # What `eas db check` runs: it exits non-zero on any difference.
            flask_migrate.check()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "render_as_batch": True}
                )
                assert compare_metadata(context, db.metadata) == []

            tables = set(sa.inspect(db.engine).get_table_names())
            assert set(db.metadata.tables) <= tables

            flask_migrate.downgrade(revision="base")
            assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
            flask_migrate.upgrade()
            db.engine.dispose()
