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

from atende.connectors.ports import LOOKUP_FIELDS, ConnectorError, NotSupported
from atende.db.models import ExternalTicket
from atende.domain.identity import mask
from atende.services.directory import DirectoryService
from atende.services.helpdesk_push import FAILED, PENDING
from atende.services.helpdesk_sync import HelpdeskSync

NOBODY = "0000000000"


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str


async def check(
    directory: DirectoryService, helpdesk: HelpdeskSync, code: str | None = None
) -> list[Finding]:
    try:
        return await check_directory(directory, code) + await check_helpdesk(helpdesk)
    finally:
        await directory.close()
        await helpdesk.close()


async def check_directory(service: DirectoryService, code: str | None) -> list[Finding]:
    directory = service.directory
    if directory is None:
        people = await asyncio.to_thread(lambda: len(service.people.find()))
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


async def check_helpdesk(service: HelpdeskSync) -> list[Finding]:
    helpdesk = service.helpdesk
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
    pending, failed = await asyncio.to_thread(outbox_counts, service)
    findings.append(
        Finding(failed == 0, f"outbox: {pending} tickets waiting to be pushed, {failed} refused")
    )
    return findings


def outbox_counts(service: HelpdeskSync) -> tuple[int, int]:
    with service.runtime.sessions() as session:
        counts = dict(
            session.execute(
                select(ExternalTicket.state, func.count()).group_by(ExternalTicket.state)
            ).all()
        )
    return int(counts.get(PENDING, 0)), int(counts.get(FAILED, 0))
