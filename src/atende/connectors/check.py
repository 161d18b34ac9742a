"""``atende connectors check``: try the configured connectors and say what works, for the
integrator's first day (wrong URL, refused token, a file that points at the wrong field).

Nothing is written anywhere: the directory is asked for a person (the ``--code`` given, or a
code nobody has: "not found" proves the lookup works), the helpdesk's credentials are tried
with a call that changes nothing, and the push outbox is counted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import func, select

from atende.connectors.gateway import Connectors
from atende.connectors.ports import LOOKUP_FIELDS, ConnectorError, NotSupported
from atende.connectors.push import FAILED, PENDING
from atende.db.models import ExternalTicket
from atende.domain.identity import mask

NOBODY = "0000000000"


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str


async def check(connectors: Connectors, code: str | None = None) -> list[Finding]:
    findings = await check_directory(connectors, code)
    findings += await check_helpdesk(connectors)
    await connectors.close()
    return findings


async def check_directory(connectors: Connectors, code: str | None) -> list[Finding]:
    directory = connectors.directory
    if directory is None:
        people = await asyncio.to_thread(lambda: len(connectors.people.find()))
        return [Finding(True, f"directory builtin: {people} people in atende's database")]
    findings = []
    for field in LOOKUP_FIELDS:
        value = code if (code and field == "code") else NOBODY
        try:
            entry = await directory.find(field, value)
        except NotSupported:
            continue
        except ConnectorError as exc:
            findings.append(Finding(False, f"directory {directory.name} by {field}: {exc}"))
            continue
        said = f"found {entry.name} ({mask(entry.phone)})" if entry else "answered: not found"
        findings.append(Finding(True, f"directory {directory.name} by {field}: {said}"))
    if not findings:
        findings.append(Finding(False, f"directory {directory.name}: no lookup configured"))
    return findings


async def check_helpdesk(connectors: Connectors) -> list[Finding]:
    helpdesk = connectors.helpdesk
    if helpdesk is None:
        return [Finding(True, "helpdesk builtin: tickets stay in atende's database")]
    try:
        said = await helpdesk.check()
        findings = [Finding(True, f"helpdesk {helpdesk.name}: {said}")]
    except ConnectorError as exc:
        findings = [Finding(False, f"helpdesk {helpdesk.name}: {exc}")]
    if not helpdesk.reads_status:
        findings.append(
            Finding(True, f"helpdesk {helpdesk.name}: cannot report status; callers are told so")
        )
    pending, failed = await asyncio.to_thread(outbox_counts, connectors)
    findings.append(
        Finding(failed == 0, f"outbox: {pending} tickets waiting to be pushed, {failed} refused")
    )
    return findings


def outbox_counts(connectors: Connectors) -> tuple[int, int]:
    with connectors.runtime.sessions() as session:
        counts = dict(
            session.execute(
                select(ExternalTicket.state, func.count()).group_by(ExternalTicket.state)
            ).all()
        )
    return int(counts.get(PENDING, 0)), int(counts.get(FAILED, 0))
