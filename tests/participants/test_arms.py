"""Between-person arms (issue 22): a participant's `arm`, from the participants CSV or assigned
by eas (seeded permuted blocks, within strata, a group as one unit), picks their schedules and
the reports they can start, by every enrolment path alike."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta

import flask_migrate
import pytest
import sqlalchemy as sa

from eas import create_app
from eas.core.db import db as _db
from eas.participants.arms import balanced_arm
from eas.participants.csv_import import CsvInvalid
from eas.participants.models import Participant
from eas.participants.operations import enrol_one
from eas.protocols.validation import validate_protocol_text
from eas.scheduling.models import PlannedPrompt
from eas.scheduling.planner import derive_seed
from eas.studies.operations import get_study, publish_protocol
from eas.surveys.links import personal_link
from tests.databases import temporary_database
from tests.helpers import PHONE, make_test_config
from tests.participants.helpers import (
    BALANCED,
    BALANCED_BY_SITE,
    FROM_CSV,
    arms_protocol,
    people_csv,
    phone,
)
from tests.sms.helpers import Phone
from tests.surveys.helpers import csrf_of


def _arms(db, study) -> dict[str, str | None]:
    return dict(
        db.session.execute(
            sa.select(Participant.label, Participant.arm)
            .where(Participant.study_id == study.id)
            .order_by(Participant.label)
        ).all()
    )


def _count(db, study) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Participant).where(Participant.study_id == study.id)
    )


def _errors(enroll_csv, study, text) -> list[tuple[int, str | None, str]]:
    with pytest.raises(CsvInvalid) as refused:
        enroll_csv(study, text)
    return [(e.line, e.column, e.message) for e in refused.value.errors]


# The permuted blocks (pure) -----------------------------------------------------------------


def test_a_block_is_a_permutation_of_the_arms_drawn_from_the_seed():
    names = ["a", "b", "c"]
    for stratum in ("north", None):
        for block in range(5):
            drawn = [balanced_arm(names, 7, stratum, block * 3 + i) for i in range(3)]
            assert sorted(drawn) == names
            order = list(names)
            random.Random(derive_seed(7, stratum or "", block)).shuffle(order)
            assert drawn == order
    # Other seeds and strata draw other orders (some of these 20 blocks differ).
    first = [balanced_arm(names, 7, "north", k) for k in range(60)]
    assert first != [balanced_arm(names, 8, "north", k) for k in range(60)]
    assert first != [balanced_arm(names, 7, "south", k) for k in range(60)]


# Arms from the CSV (assign: csv) ------------------------------------------------------------


def test_arms_from_the_csv(db, create_study, enroll_csv):
    study = create_study(arms_protocol(FROM_CSV))
    enroll_csv(study, people_csv(3, arm=["boost", "control", "boost"]))
    assert _arms(db, study) == {"P000": "boost", "P001": "control", "P002": "boost"}
    assert {p.arm_stratum for p in study.participants} == {None}
    # The same file again changes nothing; another arm for an enrolled participant is refused.
    again = enroll_csv(study, people_csv(3, arm=["boost", "control", "boost"]))
    assert again.created == [] and len(again.unchanged) == 3
    errors = _errors(enroll_csv, study, people_csv(1, arm="control"))
    assert errors[0][:2] == (2, "arm") and "different arm" in errors[0][2]


def test_csv_arms_are_required_and_checked_row_by_row(db, create_study, enroll_csv):
    study = create_study(arms_protocol(FROM_CSV))
    missing = _errors(enroll_csv, study, people_csv(2))
    assert len(missing) == 1 and missing[0][0] == 1 and "arm" in missing[0][2]
    errors = _errors(enroll_csv, study, people_csv(4, arm=["boost", "", "placebo", "control"]))
    assert [e[:2] for e in errors] == [(3, "arm"), (4, "arm")]
    assert "is empty" in errors[0][2]
    assert "'placebo' is not an arm of this study (control, boost)" in errors[1][2]
    assert _count(db, study) == 0  # never a partial import


def test_an_arm_in_a_study_without_arms_is_an_error(db, create_study, enroll_csv):
    study = create_study()  # the demo protocol: no study.arms
    errors = _errors(enroll_csv, study, people_csv(2, arm=["", "boost"]))
    assert errors == [(3, "arm", "this study has no arms (its protocol has no study.arms)")]
    enroll_csv(study, people_csv(2, arm=""))  # an empty column is no arm
    assert set(_arms(db, study).values()) == {None}


def test_balanced_arms_are_not_given_in_the_csv(db, create_study, enroll_csv):
    study = create_study(arms_protocol(BALANCED))
    errors = _errors(enroll_csv, study, people_csv(2, arm=["boost", "control"]))
    assert [e[:2] for e in errors] == [(2, "arm"), (3, "arm")]
    assert "eas assigns" in errors[0][2]
    assert _count(db, study) == 0


def test_the_stratification_column_is_required(db, create_study, enroll_csv):
    study = create_study(arms_protocol(BALANCED_BY_SITE))
    missing = _errors(enroll_csv, study, people_csv(2))
    assert len(missing) == 1 and missing[0][0] == 1 and "site" in missing[0][2]
    errors = _errors(enroll_csv, study, people_csv(3, sites=("north", "", "south")))
    assert [e[:2] for e in errors] == [(3, "site")] and "is empty" in errors[0][2]
    # Other unknown columns are still errors.
    unknown = _errors(enroll_csv, study, people_csv(1, sites=("north",), hobby="chess"))
    assert "unknown column(s): hobby" in unknown[0][2]
    assert _count(db, study) == 0


# Balanced assignment (assign: balanced) -------------------------------------------------------


def test_balanced_within_strata_and_reproducible(db, create_study, enroll_csv):
    study = create_study(arms_protocol(BALANCED_BY_SITE))
    enroll_csv(study, people_csv(40, sites=("north", "south")))
    people = sorted(study.participants, key=lambda p: p.label)
    per_stratum = Counter((p.arm_stratum, p.arm) for p in people)
    assert per_stratum == {
        ("north", "control"): 10,
        ("north", "boost"): 10,
        ("south", "control"): 10,
        ("south", "boost"): 10,
    }
    # The k-th participant of a stratum takes position k of the seed's permuted blocks.
    for site in ("north", "south"):
        arms = [p.arm for p in people if p.arm_stratum == site]
        assert arms == [balanced_arm(["control", "boost"], 7, site, k) for k in range(20)]
    # Reproducible: the same protocol (another study) and file give the same arms, and so do
    # the same people enrolled one by one (k counts those already assigned).
    twin = create_study(arms_protocol(BALANCED_BY_SITE, slug="arms-twin"))
    enroll_csv(twin, people_csv(40, sites=("north", "south")))
    assert _arms(db, twin) == _arms(db, study)
    single = create_study(arms_protocol(BALANCED_BY_SITE, slug="arms-single"))
    for n in range(12):
        enroll_csv(single, people_csv(1, sites=(("north", "south")[n % 2],), first=n))
    assert _arms(db, single) == {k: v for k, v in _arms(db, study).items() if k < "P012"}


def test_without_strata_everyone_is_one_stratum(db, create_study, enroll_csv):
    study = create_study(arms_protocol(BALANCED))
    enroll_csv(study, people_csv(10))
    arms = list(_arms(db, study).values())
    assert arms == [balanced_arm(["control", "boost"], 7, None, k) for k in range(10)]
    assert Counter(arms) == {"control": 5, "boost": 5}
    assert {p.arm_stratum for p in study.participants} == {None}


def test_a_group_is_randomised_as_one_unit(db, create_study, enroll_csv):
    study = create_study(arms_protocol(BALANCED))
    groups = ["c1", "c1", "", "c2", "c2", ""]
    enroll_csv(study, people_csv(6, group=groups))
    arms = _arms(db, study)
    expected = [balanced_arm(["control", "boost"], 7, None, k) for k in range(4)]
    # Units in order: c1, P002, c2, P005.
    assert [arms["P000"], arms["P002"], arms["P003"], arms["P005"]] == expected
    assert arms["P001"] == arms["P000"] and arms["P004"] == arms["P003"]
    # A later member takes the group's arm; the next unit is the fifth.
    enroll_csv(study, people_csv(2, first=6, group=["c1", ""]))
    arms = _arms(db, study)
    assert arms["P006"] == arms["P000"]
    assert arms["P007"] == balanced_arm(["control", "boost"], 7, None, 4)


def test_group_members_share_a_stratum_and_a_csv_arm(db, create_study, enroll_csv):
    study = create_study(arms_protocol(BALANCED_BY_SITE))
    errors = _errors(enroll_csv, study, people_csv(2, sites=("north", "south"), group="c1"))
    assert [e[:2] for e in errors] == [(3, "site")] and "group c1" in errors[0][2]
    enroll_csv(study, people_csv(1, sites=("north",), group="c1"))
    errors = _errors(enroll_csv, study, people_csv(1, first=1, sites=("south",), group="c1"))
    assert [e[:2] for e in errors] == [(2, "site")]

    by_csv = create_study(arms_protocol(FROM_CSV, slug="arms-csv"))
    errors = _errors(enroll_csv, by_csv, people_csv(2, group="c1", arm=["boost", "control"]))
    assert [e[:2] for e in errors] == [(3, "arm")] and "group c1" in errors[0][2]
    enroll_csv(by_csv, people_csv(1, group="c1", arm="boost"))
    errors = _errors(enroll_csv, by_csv, people_csv(1, first=1, group="c1", arm="control"))
    assert [e[:2] for e in errors] == [(2, "arm")]


def test_enrolling_one_by_the_form_or_the_api_rules(db, app, create_study):
    """`enrol_one` (the form, the API): `stratum` is the stratify_by column's value."""
    study = create_study(arms_protocol(BALANCED_BY_SITE))
    fields = {"label": "S1", "phone": phone(1), "timezone": "America/New_York"}
    with pytest.raises(CsvInvalid) as refused:
        enrol_one(study, fields, actor="test")
    assert [(e.column, e.message) for e in refused.value.errors] == [
        ("stratum", "is empty; arms are balanced within site (study.arms.stratify_by)")
    ]
    with pytest.raises(CsvInvalid) as refused:
        enrol_one(study, {**fields, "stratum": "north", "arm": "boost"}, actor="test")
    assert [e.column for e in refused.value.errors] == ["arm"]
    (person,) = enrol_one(study, {**fields, "stratum": "north"}, actor="test").created
    assert person.arm == balanced_arm(["control", "boost"], 7, "north", 0)
    assert person.arm_stratum == "north"

    plain = create_study(arms_protocol(BALANCED, slug="arms-plain"))
    with pytest.raises(CsvInvalid) as refused:
        enrol_one(plain, {**fields, "stratum": "north"}, actor="test")
    assert [e.column for e in refused.value.errors] == ["stratum"]


# The plan and the reports follow the arm ------------------------------------------------------


def _schedules(db, person) -> set[str]:
    return set(
        db.session.scalars(
            sa.select(PlannedPrompt.schedule_id).where(PlannedPrompt.participant_id == person.id)
        )
    )


def test_prompts_follow_the_arm(db, clock, create_study, enroll_csv):
    study = create_study(arms_protocol(FROM_CSV))
    enroll_csv(study, people_csv(2, arm=["boost", "control"]))
    boost, control = sorted(study.participants, key=lambda p: p.label)
    assert _schedules(db, boost) == {"morning", "boost_evening"}
    assert _schedules(db, control) == {"morning", "control_noon"}


def test_a_report_of_another_arm_is_not_theirs(
    db, clock, client, twilio_config, create_study, enroll_csv
):
    study = create_study(arms_protocol(FROM_CSV))
    csv_text = (
        "label,phone,timezone,start_date,arm\n"
        f"C1,{PHONE},America/New_York,2026-03-19,control\n"
        f"B1,{phone(2)},America/New_York,2026-03-19,boost\n"
    )
    enroll_csv(study, csv_text)
    db.session.commit()
    clock.set(clock.now() + timedelta(days=1, hours=2))  # study day 1, 12:00 in New York
    control_phone, boost_phone = Phone(client), Phone(client, phone(2))
    (note,) = control_phone.text("BOOST")
    assert "Mood" not in note and "No check-in is open" in note  # not a report of theirs
    assert "NOTE" in note and "BOOST" not in note  # it names only the reports of their arm
    assert "Mood" in boost_phone.text("BOOST")[0]
    reports = dict(
        db.session.execute(
            sa.select(Participant.label, sa.func.count(PlannedPrompt.id))
            .join(PlannedPrompt, PlannedPrompt.participant_id == Participant.id)
            .where(PlannedPrompt.status_reason == "participant-initiated")
            .group_by(Participant.label)
        ).all()
    )
    assert reports == {"B1": 1}
    assert "Mood" in control_phone.text("NOTE")[0]  # everyone's report

    control = next(p for p in study.participants if p.label == "C1")
    token = personal_link(control, clock.now()).rsplit("/", 1)[1]
    db.session.commit()
    page = client.get(f"/me/{token}").get_data(as_text=True)
    assert "/reports/note" in page and "/reports/boost_note" not in page
    refused = client.post(f"/me/{token}/reports/boost_note", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 404


# Every path, and PostgreSQL under concurrent enrolments ---------------------------------------


def test_the_cli_imports_and_lists_arms(db, runner, create_study, tmp_path):
    study = create_study(arms_protocol(BALANCED_BY_SITE))
    db.session.commit()
    path = tmp_path / "people.csv"
    path.write_text(people_csv(4, sites=("north", "south")))
    imported = runner.invoke(args=["participants", "import", "arms", str(path)])
    assert imported.exit_code == 0, imported.output
    listed = runner.invoke(args=["participants", "list", "arms"]).output
    for person in study.participants:
        assert f"group -\tarm {person.arm} (site {person.arm_stratum})\n" in listed


#: At once, each on a connection of its own (the pool has 15).
ENROLMENTS = 10


def test_concurrent_enrolments_stay_balanced_on_postgresql(tmp_path):
    """Enrolments of one study wait for each other while they count and assign: two at once
    never take the same place in a block."""
    with temporary_database("postgres", tmp_path) as url:
        app = create_app(make_test_config(url, tmp_path))
        with app.app_context():
            flask_migrate.upgrade()
            protocol = validate_protocol_text(arms_protocol(BALANCED), "arms.yaml")
            publish_protocol(protocol, actor="test")
            _db.session.commit()
        start = threading.Barrier(ENROLMENTS)
        failures: list[BaseException] = []

        def enrolling(n: int) -> None:
            with app.app_context():
                try:
                    study = get_study("arms")
                    fields = {"label": f"P{n:03d}", "phone": phone(n), "timezone": "UTC"}
                    start.wait(timeout=60)
                    enrol_one(study, fields, actor="test")
                    _db.session.commit()
                except BaseException as exc:
                    start.abort()  # the others stop waiting
                    failures.append(exc)
                finally:
                    _db.session.remove()

        threads = [threading.Thread(target=enrolling, args=(n,)) for n in range(ENROLMENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with app.app_context():
            # In the order they were inserted: the order they took their places in the blocks.
            arms = _db.session.scalars(sa.select(Participant.arm).order_by(Participant.id)).all()
            _db.session.remove()
            _db.engine.dispose()
    assert failures == []
    assert arms == [balanced_arm(["control", "boost"], 7, None, k) for k in range(ENROLMENTS)]
    assert Counter(arms) == {"control": ENROLMENTS // 2, "boost": ENROLMENTS // 2}


def test_only_the_arms_own_random_schedules_must_fit_the_waking_day(db, create_study, enroll_csv):
    extra = (
        "  - {id: boost_random, questionnaire: checkin, type: random, per_day: 3, "
        "min_gap_minutes: 90, arms: [boost]}\n"
    )
    study = create_study(arms_protocol(FROM_CSV) + extra)
    short_day = people_csv(2, arm=["control", "boost"], wake="09:00", sleep="12:00")
    errors = _errors(enroll_csv, study, short_day)
    assert [e[:2] for e in errors] == [(3, "sleep")] and "boost_random" in errors[0][2]
    enroll_csv(study, people_csv(1, arm="control", wake="09:00", sleep="12:00"))
    assert _arms(db, study) == {"P000": "control"}
