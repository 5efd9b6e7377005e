"""Who is on a study: a study always keeps an owner who can sign in, also when two owners
take each other off at the same moment (on either backend, with real connections)."""

from __future__ import annotations

import threading
import time

import flask_migrate
import pytest

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import begin_write, db
from eas.protocols.validation import validate_protocol_file
from eas.studies.operations import publish_protocol
from eas.users.models import StudyRole, User
from eas.users.operations import TeamError, create_user, grant, revoke, role_in
from tests.databases import temporary_database
from tests.helpers import DEMO_PROTOCOL, PASSWORD, T0, make_test_config


def test_an_owner_whose_account_is_off_does_not_count(db, clock, participant, make_user):
    study = participant.study
    only = make_user("only@example.org", study=study, role="owner")
    gone = make_user("gone@example.org", study=study, role="owner")
    gone.is_active = False
    with pytest.raises(TeamError, match="only owner"):
        revoke(only, study.id, actor="test")
    with pytest.raises(TeamError, match="only owner"):
        grant(only, study.id, StudyRole.viewer, clock.now(), actor="test")
    revoke(gone, study.id, actor="test")  # an owner who cannot sign in may go
    assert role_in(gone, study.id) is None


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_owners_taking_each_other_off_at_once_leave_one(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        app = create_app(make_test_config(url, tmp_path))
        install_clock(app, VirtualClock(T0))
        with app.app_context():
            flask_migrate.upgrade()
            study = publish_protocol(validate_protocol_file(DEMO_PROTOCOL), actor="test").study
            ids = []
            for email in ("a@example.org", "b@example.org"):
                user = create_user(email, email, PASSWORD, T0)
                grant(user, study.id, StudyRole.owner, T0, actor="test")
                ids.append(user.id)
            db.session.commit()
            study_id = study.id
        refused = []

        def take_off(target_id: int, hold: float) -> None:
            with app.app_context():
                begin_write()
                try:
                    revoke(db.session.get(User, target_id), study_id, actor="test")
                    time.sleep(hold)  # the other one tries meanwhile
                    db.session.commit()
                except TeamError:
                    refused.append(target_id)
                    db.session.rollback()
                finally:
                    db.session.remove()

        first = threading.Thread(target=take_off, args=(ids[1], 0.5))
        first.start()
        time.sleep(0.1)
        second = threading.Thread(target=take_off, args=(ids[0], 0))
        second.start()
        first.join(10)
        second.join(10)
        with app.app_context():
            owners = [u for u in ids if role_in(db.session.get(User, u), study_id)]
            db.session.remove()
            db.engine.dispose()
        assert refused == [ids[0]] and owners == [ids[0]]
