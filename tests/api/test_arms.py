"""Arms through the API (issue 22): readable on every participant; `arm` settable on enrolment
only where the protocol takes arms from the CSV (`assign: csv`), `stratum` where eas balances
them within a column's values; the same errors as the CSV importer's, by field."""

from __future__ import annotations

from eas.participants.arms import balanced_arm
from tests.participants.helpers import (
    BALANCED_BY_SITE,
    FROM_CSV,
    arms_protocol,
    people_csv,
    phone,
)

ONE = {"label": "A1", "phone": phone(1), "timezone": "America/Chicago"}


def test_arms_from_the_csv_are_given_on_enrolment(db, create_study, api_as):
    study = create_study(arms_protocol(FROM_CSV))
    api = api_as(study)
    enrolled = api.post("/studies/arms/participants", json={**ONE, "arm": "boost"})
    assert enrolled.status_code == 201, enrolled.get_json()
    assert enrolled.get_json()["participant"]["arm"] == "boost"
    assert api.get("/studies/arms/participants/A1").get_json()["arm"] == "boost"
    listed = api.get("/studies/arms/participants").get_json()
    assert [(p["label"], p["arm"], p["stratum"]) for p in listed] == [("A1", "boost", None)]

    for body, message in (
        ({**ONE, "label": "A2", "phone": phone(2)}, "is empty"),
        ({**ONE, "label": "A2", "phone": phone(2), "arm": "placebo"}, "not an arm"),
    ):
        refused = api.post("/studies/arms/participants", json=body)
        assert refused.status_code == 422
        assert message in refused.get_json()["errors"]["json"]["arm"][0]
    imported = api.post(
        "/studies/arms/participants/import",
        json={"csv": people_csv(2, first=3, arm=["control", "nope"])},
    )
    assert imported.status_code == 422
    assert [(e["line"], e["column"]) for e in imported.get_json()["errors"]["json"]["csv"]] == [
        (3, "arm")
    ]


def test_balanced_arms_are_assigned_not_given(db, create_study, api_as):
    study = create_study(arms_protocol(BALANCED_BY_SITE))
    api = api_as(study)
    given = api.post("/studies/arms/participants", json={**ONE, "stratum": "n", "arm": "boost"})
    assert given.status_code == 422
    assert "eas assigns" in given.get_json()["errors"]["json"]["arm"][0]
    no_stratum = api.post("/studies/arms/participants", json=ONE)
    assert no_stratum.status_code == 422
    assert "site" in no_stratum.get_json()["errors"]["json"]["stratum"][0]
    enrolled = api.post("/studies/arms/participants", json={**ONE, "stratum": "north"})
    assert enrolled.status_code == 201, enrolled.get_json()
    person = enrolled.get_json()["participant"]
    assert person["arm"] == balanced_arm(["control", "boost"], 7, "north", 0)
    assert person["stratum"] == "north"


def test_no_arms_no_arm(db, participant, api):
    assert api.get("/studies/ai-connection/participants/P1").get_json()["arm"] is None
    refused = api.post(
        "/studies/ai-connection/participants",
        json={"label": "P2", "phone": phone(2), "timezone": "UTC", "arm": "boost"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["json"]["arm"] == [
        "this study has no arms (its protocol has no study.arms)"
    ]
