"""Arms in the browser (issue 22): the participants list and a participant's page show the arm;
the enrolment form asks for the arm where the protocol takes it from the CSV, or for the
stratification column where eas balances arms within it; a CSV with an `arm` column enrols."""

from __future__ import annotations

import io

import sqlalchemy as sa

from eas.participants.models import Participant
from tests.helpers import sign_in
from tests.participants.helpers import BALANCED_BY_SITE, FROM_CSV, arms_protocol, people_csv, phone
from tests.web.helpers import post, text

PEOPLE = "/studies/arms/participants"


def test_arms_from_a_csv_upload_and_the_form(db, client, make_user, create_study):
    study = create_study(arms_protocol(FROM_CSV))
    make_user(study=study)
    sign_in(client)
    form = text(client.get(PEOPLE))
    assert 'id="f-arm"' in form and "control" in form and 'id="f-stratum"' not in form

    bad = people_csv(2, arm=["boost", "placebo"])
    upload = {"file": (io.BytesIO(bad.encode()), "arms.csv")}
    refused = post(client, f"{PEOPLE}/import", upload, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "<tr><td>3</td><td>arm</td>" in text(refused)

    good = people_csv(2, arm=["boost", "control"])
    upload = {"file": (io.BytesIO(good.encode()), "arms.csv")}
    done = post(client, f"{PEOPLE}/import", upload, content_type="multipart/form-data")
    assert done.status_code == 303
    listing = text(client.get(PEOPLE))
    assert '<th scope="col">Arm</th>' in listing and "<td>boost</td>" in listing

    enrolled = post(
        client,
        PEOPLE,
        {"label": "F1", "phone": phone(9), "timezone": "America/Chicago", "arm": "control"},
    )
    assert enrolled.status_code == 303, text(enrolled)
    person = db.session.scalar(sa.select(Participant).where(Participant.label == "F1"))
    assert person.arm == "control"
    assert "arm control" in text(client.get(f"{PEOPLE}/F1"))


def test_the_form_asks_for_the_stratum_when_arms_are_balanced(db, client, make_user, create_study):
    study = create_study(arms_protocol(BALANCED_BY_SITE))
    make_user(study=study)
    sign_in(client)
    form = text(client.get(PEOPLE))
    assert 'id="f-stratum"' in form and 'id="f-arm"' not in form and "site" in form
    missing = post(client, PEOPLE, {"label": "F1", "phone": phone(9), "timezone": "UTC"})
    assert missing.status_code == 422 and 'aria-describedby="e-stratum"' in text(missing)
    enrolled = post(
        client, PEOPLE, {"label": "F1", "phone": phone(9), "timezone": "UTC", "stratum": "north"}
    )
    assert enrolled.status_code == 303, text(enrolled)
    person = db.session.scalar(sa.select(Participant).where(Participant.label == "F1"))
    assert person.arm in ("control", "boost") and person.arm_stratum == "north"
    assert f"arm {person.arm} (site north)" in text(client.get(f"{PEOPLE}/F1"))


def test_no_arm_column_without_arms(db, client, make_user, study):
    make_user(study=study)
    sign_in(client)
    page = text(client.get("/studies/ai-connection/participants"))
    assert 'id="f-arm"' not in page and 'id="f-stratum"' not in page
