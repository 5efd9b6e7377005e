"""The models and the migrations describe the same schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from eas import create_app
from eas.core.db import db
from tests.databases import temporary_database
from tests.helpers import make_test_config


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
# Autogenerate cannot compare this index on SQLite (it cannot reflect it): the next test looks.
@pytest.mark.filterwarnings("ignore:.*expression-based index 'ix_planned_prompts_latest_sms'")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
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


def test_the_latest_sms_prompt_index_exists_and_serves_the_conversation_query(tmp_path):
    """An index on an expression, which autogenerate cannot compare on SQLite and a batch
    migration of planned_prompts would lose there; the query must repeat its condition."""
    from eas.sms.senders import _SENDERS

    with temporary_database("sqlite", tmp_path) as url:
        app = create_app(make_test_config(url, tmp_path))
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                compiled = _SENDERS.params(phone_hash="h").compile(
                    dialect=connection.dialect, compile_kwargs={"literal_binds": True}
                )
                plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}").all()
            db.engine.dispose()
    assert any("USING INDEX ix_planned_prompts_latest_sms" in row[-1] for row in plan), plan
    assert not any("planned_prompts" in row[-1] and "SCAN" in row[-1] for row in plan), plan


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_upgrade_keeps_existing_participants(backend, tmp_path):
    """Migrations that rebuild tables (SQLite batch mode) must keep rows and references."""
    with temporary_database(backend, tmp_path) as url:
        app = create_app(make_test_config(url, tmp_path))
        with app.app_context():
            flask_migrate.upgrade(revision="0be9d75bd461")
            with db.engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO studies (id, slug, title, timezone, created_at) "
                        "VALUES (1, 's', 'S', 'UTC', '2026-01-01 00:00:00')"
                    )
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO participants (id, study_id, label, phone_encrypted, "
                        "phone_hash, timezone, wake_time, sleep_time, channel, status, "
                        "enrolled_at, start_date) VALUES (1, 1, 'P1', :phone, 'h', 'UTC', "
                        "'09:00:00', '22:00:00', 'sms', 'active', '2026-01-01 00:00:00', "
                        "'2026-01-02')"
                    ),
                    {"phone": b"x"},
                )
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                row = connection.execute(
                    sa.text("SELECT label, schedule_seed, study_id FROM participants")
                ).one()
            assert row.label == "P1" and row.study_id == 1
            assert row.schedule_seed is not None and row.schedule_seed >= 0
            db.engine.dispose()
