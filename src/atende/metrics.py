"""The product's own Prometheus counters, shared by the API, the phone flow and the services."""

from __future__ import annotations

from prometheus_client import Counter

TICKETS_OPENED = Counter("atende_tickets_opened_total", "Tickets opened", ["channel"])
PROTOCOLS_ISSUED = Counter("atende_protocols_issued_total", "Attendance protocols issued")
