"""Prometheus metrics of delivery (served at /metrics by the web app or `eas scheduler`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SENT = Counter("eas_prompts_sent", "Prompts sent", ["channel"])
REMINDERS = Counter("eas_reminders_sent", "Reminders sent", ["channel"])
FAILURES = Counter("eas_send_failures", "Send attempts that failed", ["channel", "kind"])
RETRIES = Counter("eas_send_retries", "Prompts scheduled for another attempt", ["channel"])
EXPIRED = Counter("eas_prompts_expired", "Prompts that expired before they could be sent")
RECONCILED = Counter("eas_prompts_reconciled", "Prompts a crashed dispatcher left", ["outcome"])
LATENESS = Histogram(
    "eas_due_to_sent_seconds",
    "Time from a prompt's due time to the provider accepting it",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
