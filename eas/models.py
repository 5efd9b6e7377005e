"""Every model, imported once so the metadata (and Alembic) sees all tables."""

from eas.api.models import ApiToken
from eas.audit.models import AuditEvent
from eas.delivery.models import DispatcherHeartbeat, Message, SimulatedMessage
from eas.participants.models import Participant, ParticipantGroup, Pause, TimezoneChange
from eas.responses.models import AccessLink, Answer, Response
from eas.safety.models import SafetyAlert
from eas.scheduling.models import PlannedPrompt
from eas.studies.models import ProtocolVersion, Study
from eas.users.models import LoginAttempt, StudyMembership, User

__all__ = [
    "AccessLink",
    "Answer",
    "ApiToken",
    "AuditEvent",
    "DispatcherHeartbeat",
    "LoginAttempt",
    "Message",
    "Participant",
    "ParticipantGroup",
    "Pause",
    "PlannedPrompt",
    "ProtocolVersion",
    "Response",
    "SafetyAlert",
    "SimulatedMessage",
    "Study",
    "StudyMembership",
    "TimezoneChange",
    "User",
]
