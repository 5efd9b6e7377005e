"""A participant's own page starts the protocol's participant-initiated questionnaire."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from eas.scheduling.models import PlannedPrompt
from eas.surveys.links import personal_link
from tests.surveys.helpers import csrf_of


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_report_started_from_the_personal_page(db, clock, client, participant):
    clock.set(clock.now() + timedelta(days=1, hours=4))  # study day 1
    url = personal_link(participant, clock.now())
    db.session.commit()
    page = client.get(f"/me/{_token(url)}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "After an AI chat" in html
    assert "Or text AI to the study" in html
    action = re.search(r'action="([^"]+/reports/after_ai)"', html).group(1)
    started = client.post(action, data={"csrf_token": csrf_of(html)})
    assert started.status_code == 303 and "/p/" in started.location
    report = client.get(started.location).get_data(as_text=True)
    assert "What was the chat about?" in report
    prompt = db.session.scalar(
        sa.select(PlannedPrompt).where(PlannedPrompt.schedule_id == "after_ai")
    )
    assert prompt.channel.value == "web" and prompt.study_day == 1


def test_a_new_personal_link_retires_the_old_one(db, clock, client, participant):
    old = personal_link(participant, clock.now())
    new = personal_link(participant, clock.now())
    db.session.commit()  # as the CLI does (a refused request rolls back what is pending)
    replaced = client.get(f"/me/{_token(old)}")
    assert replaced.status_code == 404
    assert "This link does not work" in replaced.get_data(as_text=True)  # a page, not an error
    assert client.get(f"/me/{_token(new)}").status_code == 200
    # A personal token is no questionnaire link, and the reverse.
    assert client.get(f"/p/{_token(new)}").status_code == 404


def test_the_cli_prints_a_personal_link(db, runner, participant):
    result = runner.invoke(args=["participants", "link", "ai-connection", "P1"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"http://127\.0\.0\.1:5000/me/[A-Za-z0-9_-]{16}\n", result.output)
