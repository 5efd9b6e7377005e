"""Alembic through Flask-Migrate, pointed at the repository's `migrations/` from any folder."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import Migrate

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

migrate = Migrate()


def init_migrations(app, db) -> None:
    # Batch mode lets Alembic alter SQLite tables (it rebuilds them).
    migrate.init_app(
        app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True
    )
