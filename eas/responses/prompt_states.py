"""What became of a prompt, in one vocabulary: the pages, the API, the CLI and the export all say
it with these words (pages with the underscore as a space).

A prompt's stored `status` is its delivery lifecycle (scheduled, sending, sent, expired, failed,
cancelled); its state adds what the participant did and whether it is still open, so a sent
prompt is `open`, `completed`, `partial` or `missed`, and one not sent yet is `not_sent`.
"""

from __future__ import annotations

from datetime import datetime

from eas.responses.models import ResponseStatus
from eas.scheduling.models import PromptStatus

#: Every state and what it means (the export's codebook and the pages' legends).
STATES = {
    "completed": "answered to the last item",
    "partial": "started but not finished before it closed",
    "missed": "sent, not answered before it closed",
    "open": "sent and still open",
    "not_sent": "not sent yet (not due, or being sent)",
    "expired": "its window closed before it could be sent (e.g. after an outage)",
    "failed": "could not be delivered; see status_reason",
    "cancelled": "will not be sent: see status_reason (paused, withdrawn, opted out, ...)",
}


def prompt_state(
    status: PromptStatus,
    response_status: ResponseStatus | None,
    expires_at: datetime,
    now: datetime,
) -> str:
    """The state (a key of `STATES`) of a prompt with this stored `status`, whose response
    (if any) has `response_status`, at `now`."""
    if status is PromptStatus.sent:
        if response_status is ResponseStatus.completed:
            return "completed"
        if expires_at > now:
            return "open"  # answered in part or not at all, and still open
        return "missed" if response_status is None else "partial"
    if status in (PromptStatus.scheduled, PromptStatus.sending):
        return "not_sent"
    return status.value  # expired, cancelled, failed
