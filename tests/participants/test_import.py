from datetime import date, datetime, time
from textwrap import dedent

import pytest
import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.participants.csv_import import CsvInvalid, parse_participants_csv
from eas.participants.models import Channel, Participant, ParticipantStatus

GOOD_CSV = dedent(
    """\
    label,phone,timezone,wake,sleep,start_date,channel
    P01,+1 202 555 0101,America/New_York,08:30,22:30,2026-03-20,sms
    P02,(312) 555-0102,America/Chicago,,,,web
    P03,+49 151 23456789,Europe/Berlin,22:00,07:00,,
    """
)

BAD_CSV = dedent(
    """\
    label,phone,timezone,wake,sleep,start_date,channel
    P01,+1 202 555 0101,America/New_York,08:30,22:30,2026-03-20,sms
    P02,555-12,Mars/Olympus,9am,22:00,2026-13-01,pigeon
    ,+1 202 555 0113,Europe/Berlin,,,,
    P01,+1 202 555 0114,Europe/Berlin,,,,
    P05,+1 202 555 0101,Europe/Berlin,10:00,12:00,,
    P06,+1 202 555 0116,UTC,,,,sms
    """
)


def _participants(db):
    return db.session.scalars(sa.select(Participant).order_by(Participant.label)).all()


def test_good_file_enrolls_everyone_with_parsed_values(db, clock, create_study, enroll_csv):
    study = create_study()
    result = enroll_csv(study, GOOD_CSV)
    assert [p.label for p in result.created] == ["P01", "P02", "P03"]
    p01, p02, p03 = _participants(db)
    assert p01.phone == "+12025550101"
    assert p02.phone == "+13125550102"
    assert p03.phone == "+4915123456789"
    assert (p01.wake_time, p01.sleep_time) == (time(8, 30), time(22, 30))
    # Blank cells take the protocol's participant_defaults.
    assert (p02.wake_time, p02.sleep_time, p02.channel) == (time(9), time(22), Channel.web)
    assert p03.channel is Channel.sms
    assert p01.start_date == date(2026, 3, 20)
    assert all(p.status is ParticipantStatus.active for p in (p01, p02, p03))
    assert all(p.enrolled_at == clock.now() for p in (p01, p02, p03))
    assert [(c.timezone, c.effective_at) for c in p03.timezone_changes] == [
        ("Europe/Berlin", clock.now())
    ]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action.like("participants%")))
    assert event.details == {"labels": ["P01", "P02", "P03"], "unchanged": 0}
    assert "+1" not in str(event.details)


def test_default_start_is_the_next_local_day(db, clock, create_study, enroll_csv):
    # 2026-03-18 14:00 UTC is already the 19th in Auckland but still the 18th in Honolulu.
    study = create_study()
    enroll_csv(
        study,
        "label,phone,timezone\n"
        "NZ,+1 202 555 0121,Pacific/Auckland\nHI,+1 202 555 0122,Pacific/Honolulu\n",
    )
    by_label = {p.label: p for p in _participants(db)}
    assert clock.now() == datetime.fromisoformat("2026-03-18T14:00:00+00:00")
    assert by_label["NZ"].start_date == date(2026, 3, 20)
    assert by_label["HI"].start_date == date(2026, 3, 19)


def test_reimporting_the_same_file_changes_nothing(db, create_study, enroll_csv):
    study = create_study()
    enroll_csv(study, GOOD_CSV)
    before = [(p.id, p.phone_encrypted, p.start_date) for p in _participants(db)]
    again = enroll_csv(study, GOOD_CSV)
    assert again.created == [] and len(again.unchanged) == 3
    assert [(p.id, p.phone_encrypted, p.start_date) for p in _participants(db)] == before


def test_bad_file_names_every_bad_row_and_imports_nothing(db, create_study, enroll_csv):
    study = create_study()
    with pytest.raises(CsvInvalid) as caught:
        enroll_csv(study, BAD_CSV)
    lines = [error.format("people.csv") for error in caught.value.errors]
    assert lines == [
        "people.csv:3: phone: '555-12' is not a valid phone number "
        "(numbers without a + are read as US numbers)",
        "people.csv:3: timezone: 'Mars/Olympus' is not an IANA time zone (e.g. America/Chicago)",
        "people.csv:3: wake: '9am' is not a time of day (HH:MM)",
        "people.csv:3: channel: 'pigeon' is not a channel (sms or web)",
        "people.csv:3: start_date: '2026-13-01' is not a date (YYYY-MM-DD)",
        "people.csv:4: label: is empty",
        "people.csv:5: label: same label as line 2",
        "people.csv:6: phone: same phone as line 2",
        "people.csv:6: sleep: schedule 'beeps': 5 prompts at least 90 minutes apart need 450 "
        "minutes, but on Mondays the waking day 10:00-12:00 has 120 minutes",
    ]
    assert _participants(db) == []


def test_changed_details_of_an_enrolled_participant_are_an_error(db, create_study, enroll_csv):
    study = create_study()
    enroll_csv(study, GOOD_CSV)
    moved = GOOD_CSV.replace("America/Chicago", "America/Denver").replace("0101", "0199")
    with pytest.raises(CsvInvalid) as caught:
        enroll_csv(study, moved)
    messages = [error.format("f.csv") for error in caught.value.errors]
    assert messages == [
        "f.csv:2: phone: P01 is already enrolled with a different phone; "
        "change enrolled participants one by one",
        "f.csv:3: timezone: P02 is already enrolled with a different timezone; "
        "change enrolled participants one by one",
    ]
    with pytest.raises(CsvInvalid) as caught:
        enroll_csv(study, "label,phone,timezone\nP04,+1 312 555 0102,UTC\n")
    assert [e.format("g.csv") for e in caught.value.errors] == [
        "g.csv:2: phone: this number is already enrolled as P02"
    ]
    assert {p.timezone for p in _participants(db)} == {
        "America/New_York",
        "America/Chicago",
        "Europe/Berlin",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "x.csv:1: the file is empty; expected a header row"),
        ("label,phone\n", "x.csv:1: missing column(s): timezone"),
        ("label,phone,timezone,email\n", "x.csv:1: unknown column(s): email"),
        ("label,phone,timezone\n", "x.csv:1: the file has a header but no participants"),
        (
            "label,phone,timezone\nP1,+12025550101,UTC,extra\n",
            "x.csv:2: has 4 fields; the header has 3",
        ),
    ],
)
def test_malformed_files_are_explained(db, create_study, enroll_csv, text, message):
    study = create_study()
    with pytest.raises(CsvInvalid) as caught:
        enroll_csv(study, text)
    assert caught.value.errors[0].format("x.csv").startswith(message)


def test_excel_byte_order_mark_and_blank_lines_are_tolerated(db, create_study, enroll_csv):
    study = create_study()
    result = enroll_csv(study, "\ufefflabel,phone,timezone\n\nP1,+12025550101,UTC\n\n")
    assert [p.label for p in result.created] == ["P1"]


def test_cli_import_reports_errors_and_exit_code(runner, db, tmp_path):
    from tests.helpers import DEMO_PROTOCOL

    assert runner.invoke(args=["study", "create", str(DEMO_PROTOCOL)]).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV)
    result = runner.invoke(args=["participants", "import", "ai-connection", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3: phone: '555-12'" in result.output
    assert "nobody was imported" in result.output
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV)
    result = runner.invoke(args=["participants", "import", "ai-connection", str(good)])
    assert result.exit_code == 0, result.output
    assert "enrolled 3 participant(s) with " in result.output
    assert "; 0 already enrolled and unchanged" in result.output
    result = runner.invoke(args=["participants", "import", "ai-connection", str(good)])
    assert "enrolled 0 participant(s) with 0 prompts planned; 3 already enrolled" in result.output
    missing = runner.invoke(args=["participants", "import", "no-such-study", str(good)])
    assert missing.exit_code == 1
    assert "no study 'no-such-study'" in missing.output


def test_an_implausible_start_date_is_named_not_planned(db, create_study, enroll_csv):
    study = create_study()
    csv = "label,phone,timezone,start_date\nP1,+12025550101,America/New_York,9999-12-31\n"
    with pytest.raises(CsvInvalid) as caught:
        enroll_csv(study, csv)
    assert [error.format("people.csv") for error in caught.value.errors] == [
        "people.csv:2: start_date: 9999-12-31 is not a plausible first study day (2000-2100)"
    ]


def test_a_semicolon_file_with_headers_in_any_case_is_read(demo_protocol):
    text = (
        "Label; Phone ;TimeZone;Wake\n"
        "P1;+12025550101;America/New_York;08:00\n"
        "P2;+12025550102;Europe/Berlin;\n"
    )
    parsed = parse_participants_csv(text, demo_protocol.definition, "US")
    assert parsed.errors == []
    assert [(r.label, r.phone, r.timezone) for r in parsed.rows] == [
        ("P1", "+12025550101", "America/New_York"),
        ("P2", "+12025550102", "Europe/Berlin"),
    ]


def test_the_region_hint_comes_only_with_numbers_written_without_a_plus(demo_protocol):
    text = "label,phone,timezone\nP1,+1202555010,America/New_York\nP2,202555010,America/New_York\n"
    errors = parse_participants_csv(text, demo_protocol.definition, "US").errors
    assert [e.line for e in errors] == [2, 3]
    assert "read as US numbers" not in errors[0].message
    assert "read as US numbers" in errors[1].message
