"""The flow fields: the names a prompt or a variable can fill, and which node provides each.

Validation uses them to reject a ``{person.name}`` that no earlier node can know; the engine
fills them from the call as it goes. A field that is known to the flow but empty at run time
(0 pressed before the caller was identified) is spoken and set as an empty string.
"""

from __future__ import annotations

# Known from the first moment of every call.
CALL_FIELDS = frozenset({"caller_id", "call.id", "hours", "date", "time"})
# After an ``identify`` node found the caller.
PERSON_FIELDS = frozenset({"person.name", "person.code"})
# After ``issue_protocol`` or ``open_ticket``: the call's protocol number.
PROTOCOL_FIELDS = frozenset({"protocol"})
# After ``choose_service``.
SERVICE_FIELDS = frozenset({"service.category", "service.item"})
# After ``open_ticket``.
TICKET_FIELDS = PROTOCOL_FIELDS | frozenset({"ticket.item"})

VARIABLE_PATTERN = r"^[a-z][a-z0-9_]*$"
