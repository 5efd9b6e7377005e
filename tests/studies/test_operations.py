import pytest
import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.protocols.validation import validate_protocol_text
from eas.studies.models import ProtocolVersion, Study
from eas.studies.operations import publish_protocol
from tests.helpers import DEMO_PROTOCOL


def _edited_demo(title: str) -> str:
    text = DEMO_PROTOCOL.read_text()
    return text.replace(
        'title: "AI conversations, connection and loneliness in daily life"', f'title: "{title}"'
    )


def test_first_publication_creates_the_study_with_version_1(db, demo_protocol):
    result = publish_protocol(demo_protocol, actor="test")
    assert result.study_created and result.created
    study = db.session.scalar(sa.select(Study).where(Study.slug == "ai-connection"))
    assert study.timezone == "America/New_York"
    assert [v.number for v in study.versions] == [1]
    version = study.current_version
    assert version.source_text == DEMO_PROTOCOL.read_text()
    assert version.definition["study"]["duration_days"] == 14
    assert len(version.source_hash) == 64
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions == ["study.created"]


def test_publishing_the_same_text_again_changes_nothing(db, demo_protocol):
    publish_protocol(demo_protocol, actor="test")
    again = publish_protocol(demo_protocol, actor="test")
    assert not again.created and again.version.number == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProtocolVersion)) == 1


def test_a_changed_protocol_becomes_the_next_version(db, demo_protocol):
    publish_protocol(demo_protocol, actor="test")
    changed = validate_protocol_text(_edited_demo("AI and connection, wave 2"), "v2.yaml")
    result = publish_protocol(changed, actor="test")
    assert result.created and not result.study_created
    assert [v.number for v in result.study.versions] == [1, 2]
    assert result.study.title == "AI and connection, wave 2"
    assert result.study.versions[0].definition["study"]["title"].startswith("AI conversations")


def test_protocol_versions_cannot_be_edited(db, demo_protocol):
    version = publish_protocol(demo_protocol, actor="test").version
    version.source_text = "tampered"
    with pytest.raises(ValueError, match="immutable"):
        db.session.flush()


def test_cli_creates_then_reports_unchanged(runner, db):
    first = runner.invoke(args=["study", "create", str(DEMO_PROTOCOL)])
    assert first.exit_code == 0, first.output
    assert "created study ai-connection with protocol version 1" in first.output
    second = runner.invoke(args=["study", "create", str(DEMO_PROTOCOL)])
    assert second.exit_code == 0
    assert "unchanged" in second.output
    listing = runner.invoke(args=["study", "list"])
    assert "ai-connection\tv1\t0 participants" in listing.output


def test_cli_refuses_an_invalid_protocol_and_creates_nothing(runner, db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: {id: x}\n")
    result = runner.invoke(args=["study", "create", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:1:8: study.duration_days: is required" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Study)) == 0
