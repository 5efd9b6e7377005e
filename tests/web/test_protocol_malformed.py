"""Protocols that used to crash the validator (issue 20, finding 5) are answered on the
dashboard's protocol pages with their errors beside their lines, not with a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eas.studies.models import ProtocolVersion, Study
from tests.helpers import DEMO_PROTOCOL, sign_in
from tests.web.helpers import post, text

DEMO = DEMO_PROTOCOL.read_text()
REMINDERS = "    reminders: [{after_minutes: 15}]\n"
LINE = DEMO.splitlines().index(REMINDERS.rstrip("\n")) + 1
MISSPELT = DEMO.replace(REMINDERS, "    reminders: [{after: 5}]\n")
DEEP = DEMO.replace(REMINDERS, "    reminders: " + "[" * 494 + "]" * 494 + "\n")
#: (protocol text, an error as the page lists it)
BROKEN = [
    pytest.param(
        MISSPELT,
        f"line {LINE}, column 17</a> (schedules[0].reminders[0].after_minutes): is required",
        id="misspelt-reminder",
    ),
    pytest.param(
        DEEP,
        f"line {LINE}, column 64</a> (schedules): nested too deeply: more than 50 levels of "
        "lists or mappings",
        id="nested-494-deep",
    ),
]


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize(("source", "error"), BROKEN)
@pytest.mark.parametrize("action", ["check", "publish"])
def test_a_new_study_from_a_malformed_protocol_is_refused_with_its_errors(
    db, client, make_user, source, error, action
):
    make_user(admin=True)
    sign_in(client)
    answer = post(client, "/studies/new", {"source": source, "action": action})
    assert answer.status_code == 200  # errors are an answer on these pages, as before
    assert error in text(answer) and "nothing was saved" in text(answer)
    assert _count(db, Study) == 0


@pytest.mark.parametrize(("source", "error"), BROKEN)
@pytest.mark.parametrize("action", ["check", "publish"])
def test_a_malformed_new_version_is_refused_with_its_errors(
    db, client, make_user, study, source, error, action
):
    make_user(study=study, role="owner")
    sign_in(client)
    answer = post(client, "/studies/ai-connection/protocol", {"source": source, "action": action})
    assert answer.status_code == 200
    assert error in text(answer) and "nothing was saved" in text(answer)
    assert _count(db, ProtocolVersion) == 1
