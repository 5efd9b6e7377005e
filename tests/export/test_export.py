"""The export package: answers given by SMS and on the web come out exactly as given."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from frictionless import validate

from eas.export.operations import export_study
from tests.sms.helpers import Phone


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_sms_answers_round_trip(db, clock, client, twilio_config, participant, send_next, tmp_path):
    phone = Phone(client)
    beep = send_next()
    phone.text("y")
    phone.text("2")  # romantic
    phone.text("skip")  # ai_expressive
    phone.text("8")
    phone.text("banana")
    phone.text("banana")  # ai_true_self: invalid after the re-ask
    phone.text("3 5 6 2 4")  # compact, the rest
    missed = send_next()
    clock.set(missed.expires_at + timedelta(minutes=1))
    export = export_study(participant.study, tmp_path / "out", now=clock.now())
    assert export.rows["participants"] == 1

    prompts = {int(p["prompt_id"]): p for p in _read(tmp_path / "out", "prompts")}
    assert prompts[beep.id]["status"] == "completed"
    assert prompts[beep.id]["beep"] == "1" and prompts[missed.id]["beep"] == "2"
    assert prompts[missed.id]["status"] == "missed"
    assert prompts[beep.id]["timezone"] == "America/New_York"
    assert prompts[beep.id]["utc_offset"] == "-04:00"
    assert prompts[beep.id]["items_presented"] == "10" and prompts[beep.id]["items_answered"] == "8"
    responses = [r for r in _read(tmp_path / "out", "responses") if int(r["prompt_id"]) == beep.id]
    by_item = {r["item"]: r for r in responses}
    assert [r["item"] for r in responses][:3] == ["ai_chat", "ai_intimate", "ai_expressive"]
    assert by_item["ai_chat"]["value_raw"] == "y" and by_item["ai_chat"]["value_numeric"] == "1"
    assert by_item["ai_chat"]["value_label"] == "Yes"
    assert by_item["ai_intimate"]["value"] == "romantic"
    assert by_item["ai_intimate"]["value_label"] == "Romantic"
    assert by_item["ai_expressive"]["missing"] == "skipped"
    assert by_item["ai_expressive"]["value_numeric"] == ""
    assert by_item["ai_connected"]["value_numeric"] == "8"
    assert by_item["ai_true_self"]["missing"] == "invalid"
    assert by_item["ai_true_self"]["value_raw"] == "banana"
    assert by_item["lonely"]["value_raw"] == "3" and by_item["lonely"]["value_numeric"] == "3"
    assert by_item["seek_contact"]["value_numeric"] == "4"
    assert by_item["mood"]["value_label"] == ""  # 6 has no anchor


def test_the_package_validates_with_frictionless(db, clock, participant, send_next, tmp_path):
    send_next()
    clock.advance(timedelta(days=2))
    export_study(participant.study, tmp_path / "out", now=clock.now(), wide=True)
    report = validate(str(tmp_path / "out" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_frictionless_catches_a_broken_package(db, clock, participant, tmp_path):
    """The validator is a real check: a status outside the categories is refused."""
    export_study(participant.study, tmp_path / "out", now=clock.now())
    path = tmp_path / "out" / "prompts.csv"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace(",not_sent,", ",sort_of_sent,")
    path.write_text("\n".join(lines) + "\n")
    assert not validate(str(tmp_path / "out" / "datapackage.json")).valid


def test_every_planned_prompt_is_a_row_and_beeps_have_no_gaps(
    db, clock, participant, dispatcher, tmp_path
):
    from eas.participants.lifecycle import pause, resume

    clock.set(clock.now() + timedelta(days=2, hours=3))
    pause(participant, clock.now(), actor="test")
    clock.advance(timedelta(hours=30))
    resume(participant, clock.now(), actor="test")
    dispatcher.tick()
    export_study(participant.study, tmp_path / "out", now=clock.now())
    prompts = _read(tmp_path / "out", "prompts")
    from eas.scheduling.models import PlannedPrompt

    assert len(prompts) == db.session.query(PlannedPrompt).count()
    by_day: dict[tuple, list[int]] = {}  # beeps are per questionnaire and day
    for row in prompts:
        if row["beep"]:
            key = (row["participant"], row["study_day"], row["questionnaire"])
            by_day.setdefault(key, []).append(int(row["beep"]))
    for beeps in by_day.values():
        assert sorted(beeps) == list(range(1, len(beeps) + 1))
    assert {"cancelled", "expired", "not_sent"} <= {row["status"] for row in prompts}
    assert any(row["status_reason"] == "paused" for row in prompts)
    pauses = _read(tmp_path / "out", "pauses")
    assert len(pauses) == 1 and pauses[0]["ends_utc"]


def test_lags_are_empty_across_days_and_after_a_missed_beep(
    db, clock, client, twilio_config, participant, send_next, tmp_path
):
    phone = Phone(client)
    send_next()
    phone.text("n 4 5 6 2 3")  # beep 1: lonely 4
    send_next()  # beep 2: missed
    send_next()
    phone.text("n 7 5 6 2 3")  # beep 3: lonely 7, after a missed beep
    send_next()
    phone.text("n 8 5 6 2 3")  # beep 4: lonely 8
    export_study(participant.study, tmp_path / "out", now=clock.now())
    lonely = [r for r in _read(tmp_path / "out", "responses") if r["item"] == "lonely"]
    assert [(r["beep"], r["value_numeric"], r["lag1"]) for r in lonely] == [
        ("1", "4", ""),
        ("3", "7", ""),
        ("4", "8", "7"),
    ]
    assert float(lonely[2]["lag1_gap_minutes"]) > 0
    assert lonely[0]["person_mean"] == lonely[2]["person_mean"]
    assert float(lonely[0]["person_mean"]) == pytest.approx(19 / 3)
    assert float(lonely[2]["person_centred"]) == pytest.approx(8 - 19 / 3)


def test_no_phone_number_anywhere_and_byte_identical_twice(
    db, clock, client, twilio_config, participant, send_next, tmp_path
):
    phone = Phone(client)
    send_next()
    phone.text("n 4 5 6 2 3")
    first = tmp_path / "first"
    second = tmp_path / "second"
    export_study(participant.study, first, now=clock.now(), wide=True)
    export_study(participant.study, second, now=clock.now(), wide=True)
    for path in sorted(first.iterdir()):
        content = path.read_bytes()
        assert content == (second / path.name).read_bytes(), path.name
        for number in (b"2025550101", b"202-555-0101", b"(202) 555"):
            assert number not in content, path.name


def test_the_readme_loads_the_tables_in_pandas_with_their_types(
    db, clock, client, twilio_config, participant, send_next, tmp_path, monkeypatch
):
    phone = Phone(client)
    send_next()
    phone.text("n 4 5 6 2 3")
    folder = tmp_path / "out"
    export_study(participant.study, folder, now=clock.now())
    readme = (folder / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(folder)
    namespace: dict = {}
    exec(code, namespace)  # the README's own lines, as an analyst would paste them
    prompts, responses = namespace["load"]("prompts"), namespace["load"]("responses")
    assert str(prompts["beep"].dtype) == "Int64"
    assert str(prompts["scheduled_utc"].dtype).startswith("datetime64") and "UTC" in str(
        prompts["scheduled_utc"].dtype
    )
    assert str(responses["value_numeric"].dtype) == "float64"
    assert responses["missing"].isna().sum() > 0


def test_parquet_has_the_same_rows_and_types(db, clock, participant, send_next, tmp_path):
    import pyarrow.parquet as pq

    send_next()
    csv_export = export_study(participant.study, tmp_path / "csv", now=clock.now())
    parquet = export_study(participant.study, tmp_path / "pq", now=clock.now(), fmt="parquet")
    assert parquet.rows == csv_export.rows
    table = pq.read_table(tmp_path / "pq" / "prompts.parquet")
    assert table.num_rows == csv_export.rows["prompts"]
    assert str(table.schema.field("scheduled_utc").type).endswith("tz=UTC]")
    assert str(table.schema.field("beep").type) == "int64"
    package = json.loads((tmp_path / "pq" / "datapackage.json").read_text())
    assert package["resources"][0]["path"] == "prompts.parquet"


def test_the_cli_exports_and_refuses_a_used_folder(db, runner, participant, tmp_path):
    db.session.commit()  # the command reads what was committed, as in its own process
    out = tmp_path / "pkg"
    result = runner.invoke(args=["export", "ai-connection", "--out", str(out), "--wide"])
    assert result.exit_code == 0, result.output
    assert "exported ai-connection" in result.output
    assert (out / "responses_wide_momentary.csv").exists()
    again = runner.invoke(args=["export", "ai-connection", "--out", str(out)])
    assert again.exit_code == 1 and "is not empty" in again.output
    unknown = runner.invoke(args=["export", "nope", "--out", str(tmp_path / "x")])
    assert "no study 'nope'" in unknown.output


def test_web_answers_round_trip(db, clock, client, diary, tmp_path):
    from tests.surveys.helpers import Answerer

    prompt, path = diary
    answerer = Answerer(client, path)
    answerer.submit({"day_ai_minutes": "0"})
    answerer.submit({"day_in_person": "yes"})
    answerer.submit({"day_contact_quality": "6", "day_lonely": "", "day_note": "Café, 2 friends"})
    export_study(prompt.participant.study, tmp_path / "out", now=clock.now(), wide=True)
    rows = {
        r["item"]: r
        for r in _read(tmp_path / "out", "responses")
        if r["prompt_id"] == str(prompt.id)
    }
    assert rows["day_ai_minutes"]["value_numeric"] == "0"
    assert rows["day_ai_replaced"]["missing"] == "not_presented"
    assert rows["day_in_person"]["value"] == "yes"
    assert rows["day_contact_quality"]["value_label"] == ""
    assert rows["day_lonely"]["missing"] == "skipped"
    assert rows["day_note"]["value"] == "Café, 2 friends"
    wide = {r["prompt_id"]: r for r in _read(tmp_path / "out", "responses_wide_evening")}
    assert wide[str(prompt.id)]["day_contact_quality"] == "6"
    assert wide[str(prompt.id)]["day_note"] == "Café, 2 friends"
    assert wide[str(prompt.id)]["day_lonely"] == ""
    status = {r["prompt_id"]: r["status"] for r in _read(tmp_path / "out", "prompts")}
    assert status[str(prompt.id)] == "completed"


def test_spss_and_stata_files_carry_labels(db, runner, participant, send_next, tmp_path):
    import pyreadstat

    send_next("intake")  # the baseline and a check-in fall due: the wide tables have rows
    send_next()
    db.session.commit()  # the command reads what was committed, as in its own process
    out = tmp_path / "pkg"
    result = runner.invoke(args=["export", "ai-connection", "--out", str(out), "--sav", "--dta"])
    assert result.exit_code == 0, result.output
    _, meta = pyreadstat.read_sav(str(out / "responses_wide_momentary.sav"))
    assert meta.column_names_to_labels["lonely"].startswith("Right now, how lonely do you feel?")
    assert meta.variable_value_labels["ai_chat"] == {1.0: "Yes", 0.0: "No"}
    _, meta = pyreadstat.read_dta(str(out / "responses_wide_baseline.dta"))
    assert meta.variable_value_labels["ai_use_frequency"][0] == "Never"


def test_reports_participants_start_do_not_count_in_compliance(
    db, clock, client, twilio_config, participant, tmp_path
):
    phone = Phone(client)
    clock.advance(timedelta(days=1, hours=4))
    for _ in range(3):
        phone.text("AI")
        clock.advance(timedelta(hours=1))
    export_study(participant.study, tmp_path / "out", now=clock.now())
    prompts = _read(tmp_path / "out", "prompts")
    assert sum(p["schedule"] == "after_ai" for p in prompts) == 3
    day1 = next(d for d in _read(tmp_path / "out", "compliance_days") if d["study_day"] == "1")
    planned_day1 = sum(
        1 for p in prompts if p["study_day"] == "1" and p["schedule"] != "after_ai" and p["beep"]
    )
    assert int(day1["planned"]) == planned_day1
    beeps = _read(tmp_path / "out", "compliance_beeps")
    assert "ai_event" not in {b["questionnaire"] for b in beeps}  # after_ai's questionnaire


def test_since_keeps_beeps_and_indexes_as_in_the_full_export(
    db, clock, participant, send_next, tmp_path
):
    send_next()
    second = send_next()
    full = {p["prompt_id"]: p for p in _read_export(participant, clock, tmp_path / "full")}
    part = _read_export(participant, clock, tmp_path / "part", since=second.due_at)
    cutoff = second.due_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert part and all(p["scheduled_utc"] >= cutoff for p in part)
    for row in part:
        for column in ("beep", "prompt_index", "minutes_since_previous"):
            assert row[column] == full[row["prompt_id"]][column], column


def _read_export(participant, clock, folder, since=None):
    export_study(participant.study, folder, now=clock.now(), since=since)
    return _read(folder, "prompts")


def test_answers_keep_the_labels_of_their_own_protocol_version(
    db, clock, client, twilio_config, participant, send_next, tmp_path
):
    from eas.protocols.validation import validate_protocol_text
    from eas.studies.operations import publish_protocol
    from tests.helpers import DEMO_PROTOCOL

    phone = Phone(client)
    send_next()
    phone.text("n 3 5 0 2 4")  # mood 0: "very bad" in version 1
    reversed_anchors = DEMO_PROTOCOL.read_text().replace(
        "anchors: {0: very bad, 10: very good}", "anchors: {0: very good, 10: very bad}"
    )
    publish_protocol(validate_protocol_text(reversed_anchors, "v2.yaml"), actor="test")
    export_study(participant.study, tmp_path / "out", now=clock.now())
    mood = next(r for r in _read(tmp_path / "out", "responses") if r["item"] == "mood")
    assert mood["value_label"] == "very bad"


def test_options_that_cannot_go_together_are_refused_before_anything_is_written(
    db, runner, study, tmp_path
):
    out = tmp_path / "export"
    result = runner.invoke(
        args=["export", "ai-connection", "--out", str(out), "--format", "parquet", "--sav"]
    )
    assert result.exit_code == 1
    assert "--sav and --dta are made from the CSV export" in result.output
    assert not out.exists()  # nothing half-written to clean up


def test_wide_tables_hold_the_prompts_that_fell_due(db, clock, participant, send_next, tmp_path):
    send_next()
    export_study(participant.study, tmp_path / "out", now=clock.now(), wide=True)
    prompts = _read(tmp_path / "out", "prompts")
    wide = _read(tmp_path / "out", "responses_wide_momentary")
    due = {
        p["prompt_id"]
        for p in prompts
        if p["questionnaire"] == "momentary" and p["status"] not in ("not_sent", "cancelled")
    }
    assert due and {row["prompt_id"] for row in wide} == due
    assert any(p["status"] == "not_sent" for p in prompts)  # the rest stays in `prompts`
