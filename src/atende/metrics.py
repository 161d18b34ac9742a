"""The product's own Prometheus counters, shared by the API, the phone flow and the services."""

from __future__ import annotations

from prometheus_client import Counter

TICKETS_OPENED = Counter("atende_tickets_opened_total", "Tickets opened", ["channel"])
PROTOCOLS_ISSUED = Counter("atende_protocols_issued_total", "Attendance protocols issued")
MESSAGES_SENT = Counter(
    "atende_messages_sent_total", "Messages a channel accepted", ["channel", "kind"]
)
MESSAGE_CHANNEL_FAILURES = Counter(
    "atende_message_channel_failures_total",
    "Sends a message channel refused or failed (the next channel of the chain is tried)",
    ["channel"],
)
SPEECH_ENGINE_FAILURES = Counter(
    "atende_speech_engine_failures_total",
    "Texts a speech engine failed to say (the next engine of the chain is tried)",
    ["engine"],
)
