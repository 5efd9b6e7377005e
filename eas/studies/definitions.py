"""Protocol definitions decoded once per process: every inbound text, web page and dispatcher
batch needs its protocol's (kilobytes of JSON), and versions are never updated (publishing a
change creates a new one). One cache for all of them.

Keyed by database, version id and the source's SHA-256: one process may see several databases
(tests, simulations) whose version 1 is not the same protocol, and a test database reuses ids
after each rollback. Shared between callers: read a definition, never change it.
"""

from __future__ import annotations

import weakref
from typing import Any

import sqlalchemy as sa

from eas.core.db import core_execute, db
from eas.studies.models import ProtocolVersion

_VERSIONS = ProtocolVersion.__table__
_DEFINITION = sa.select(_VERSIONS.c.definition).where(_VERSIONS.c.id == sa.bindparam("version_id"))
_SOURCE_HASH = sa.select(_VERSIONS.c.source_hash).where(
    _VERSIONS.c.id == sa.bindparam("version_id")
)
_CACHE: dict[tuple[str, int, str], dict[str, Any]] = {}
#: Studies seen by one process before it starts again (tests publish hundreds).
_KEPT = 32


#: Each engine's database, as the cache keys name it (rendering the URL costs more than the
#: lookup it keys).
_DATABASES: weakref.WeakKeyDictionary[sa.Engine, str] = weakref.WeakKeyDictionary()


def _database_of(engine: sa.Engine) -> str:
    database = _DATABASES.get(engine)
    if database is None:
        database = _DATABASES[engine] = engine.url.render_as_string()
    return database


def definition_of(version_id: int, source_hash: str | None = None) -> dict[str, Any]:
    """The decoded definition of protocol version `version_id` (whose `source_hash` the
    caller read with it; looked up here otherwise)."""
    if source_hash is None:
        source_hash = core_execute(_SOURCE_HASH, {"version_id": version_id}).scalar_one()
    key = (_database_of(db.engine), version_id, source_hash)
    definition = _CACHE.get(key)
    if definition is None:
        if len(_CACHE) >= _KEPT:
            _CACHE.clear()
        version = {"version_id": version_id}
        definition = _CACHE[key] = core_execute(_DEFINITION, version).scalar_one()
    return definition
