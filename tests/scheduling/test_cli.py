import json

from tests.helpers import DEMO_PROTOCOL

PREVIEW = ["schedule", "preview", str(DEMO_PROTOCOL), "--start", "2026-03-05"]


def test_preview_table_spans_dst_in_local_and_utc(runner):
    result = runner.invoke(args=[*PREVIEW, "--timezone", "America/New_York"])
    assert result.exit_code == 0, result.output
    out = result.output
    # 21:30 every evening, before and after the 2026-03-08 clock change.
    assert "2026-03-07 Sat 21:30 EST  2026-03-08T02:30Z" in out
    assert "2026-03-08 Sun 21:30 EDT  2026-03-09T01:30Z" in out
    assert "2026-03-05 Thu 10:00 EST" in out  # baseline on day 1
    assert "2026-03-18 Wed 12:00 EDT" in out  # exit questionnaire on day 14
    assert (
        "burden per participant on each of the 14 days with prompts (of 14): 6.14 prompts, "
        "up to 58.6 items" in out
    )


def test_preview_json_and_csv_agree(runner):
    as_json = runner.invoke(
        args=[*PREVIEW, "--days", "3", "--timezone", "Asia/Kathmandu", "--format", "json"]
    )
    payload = json.loads(as_json.output)
    assert payload["summary"]["days"] == 3
    assert [p["study_day"] for p in payload["prompts"]].count(1) == 7  # 5 beeps, diary, intake
    assert all(p["local"].endswith("+0545") for p in payload["prompts"])
    as_csv = runner.invoke(
        args=[*PREVIEW, "--days", "3", "--timezone", "Asia/Kathmandu", "--format", "csv"]
    )
    lines = as_csv.output.strip().splitlines()
    assert lines[0].startswith("study_day,schedule,questionnaire,channel,local,utc")
    assert len(lines) - 1 == len(payload["prompts"])


def test_preview_honours_wake_and_sleep(runner):
    result = runner.invoke(
        args=[*PREVIEW, "--days", "2", "--wake", "12:00", "--sleep", "20:00", "--format", "json"]
    )
    beeps = [p for p in json.loads(result.output)["prompts"] if p["schedule"] == "beeps"]
    hours = [int(p["local"].split()[2][:2]) for p in beeps]
    assert len(beeps) == 10 and all(12 <= hour < 20 for hour in hours)


def test_preview_reports_an_impossible_window(runner):
    result = runner.invoke(args=[*PREVIEW, "--wake", "12:00", "--sleep", "18:00"])
    assert result.exit_code == 1
    assert "5 prompts 90 minutes apart do not fit the waking window (360 minutes" in result.output


def test_plan_show_and_lifecycle_commands(runner, db, clock, tmp_path):
    assert runner.invoke(args=["study", "create", str(DEMO_PROTOCOL)]).exit_code == 0
    csv = "label,phone,timezone\nP1,+12025550101,America/New_York\nP2,+12025550102,UTC\n"
    path = tmp_path / "people.csv"
    path.write_text(csv)
    imported = runner.invoke(args=["participants", "import", "ai-connection", str(path)])
    assert "with 172 prompts planned" in imported.output
    plan = runner.invoke(args=["schedule", "plan", "ai-connection"])
    assert plan.output.strip() == "ai-connection: 0 prompts planned, 0 cancelled, 172 unchanged"
    show = runner.invoke(args=["schedule", "show", "ai-connection", "P1"])
    assert show.output.count("\n") == 86 and "10:00 EDT  intake" in show.output

    paused = runner.invoke(args=["participants", "pause", "ai-connection", "P1"])
    assert paused.output.strip() == "P1: paused; 86 future prompt(s) cancelled, 0 planned"
    again = runner.invoke(args=["participants", "pause", "ai-connection", "P1"])
    assert again.exit_code == 1 and "already paused" in again.output
    resumed = runner.invoke(args=["participants", "resume", "ai-connection", "P1"])
    assert resumed.output.strip() == "P1: active; 0 future prompt(s) cancelled, 86 planned"
    moved = runner.invoke(
        args=["participants", "set-timezone", "ai-connection", "P2", "Asia/Tokyo"]
    )
    assert moved.exit_code == 0 and "86 future prompt(s) cancelled" in moved.output
    bad = runner.invoke(args=["participants", "set-timezone", "ai-connection", "P2", "Mars/Base"])
    assert bad.exit_code == 1 and "not an IANA time zone" in bad.output
    gone = runner.invoke(args=["participants", "withdraw", "ai-connection", "P2"])
    assert gone.output.startswith("P2: withdrawn; ")
    listing = runner.invoke(args=["participants", "list", "ai-connection"])
    assert "P2\twithdrawn\tAsia/Tokyo" in listing.output
    assert "+1202" not in listing.output
    missing = runner.invoke(args=["participants", "pause", "ai-connection", "nobody"])
    assert missing.exit_code == 1 and "no participant 'nobody'" in missing.output


ARMS = """
study:
  id: arms
  title: Arms
  timezone: America/New_York
  duration_days: 3
  arms: {names: [boost, control]}
questionnaires:
  - id: q
    items: [{id: mood, type: scale, min: 0, max: 10, text: "Mood?"}]
schedules:
  - {id: everyone, questionnaire: q, type: fixed, times: ["09:30"]}
  - {id: boosted, questionnaire: q, type: fixed, times: ["wake+5h"], arms: [boost]}
"""


def test_preview_of_an_arm_shows_its_schedules(runner, tmp_path):
    path = tmp_path / "arms.yaml"
    path.write_text(ARMS)
    base = ["schedule", "preview", str(path), "--start", "2026-03-02", "--format", "json"]
    boost = runner.invoke(args=[*base, "--arm", "boost"])
    assert boost.exit_code == 0, boost.output
    schedules = {row["schedule"] for row in json.loads(boost.output)["prompts"]}
    assert schedules == {"everyone", "boosted"}
    control = json.loads(runner.invoke(args=[*base, "--arm", "control"]).output)
    assert {row["schedule"] for row in control["prompts"]} == {"everyone"}
    missing = runner.invoke(args=base)
    assert missing.exit_code == 2 and "give --arm, one of boost, control" in missing.output
