"""A queued job held by a process that died is given back as soon as the death is seen, not
when its five-minute lease ends (issue 12: several nodes, nothing lost or late when one dies)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from atende.db.claims import claim_due
from atende.db.models import Message, Process
from atende.demo import load_demo_people
from atende.messaging import OutgoingMessage
from atende.messaging.messenger import QUEUED
from atende.services.bundle import Services
from atende.services.call_owners import CallOwners

MakeServices = Callable[..., Services]
NOT_RUNNING = 2**22 + 1  # above Linux's largest pid_max: no process has it


def test_a_dead_processs_claimed_message_is_sent_by_a_survivor_at_once(
    make_services: MakeServices,
) -> None:
    services = make_services()
    runtime = services.runtime
    load_demo_people(services.people)
    maria = services.people.get("1001")
    message = OutgoingMessage(to="+5545999990001", text="Protocolo 20260000001", kind="protocol")
    asyncio.run(services.messenger.enqueue(message, maria.id))
    owners = CallOwners(runtime)
    dead = owners.register("node-a", NOT_RUNNING)
    survivor = owners.register("node-b", NOT_RUNNING)
    with runtime.sessions.begin() as session:  # node-a claims it, then dies before sending
        waiting = Message.status == QUEUED
        claimed = claim_due(
            session, Message, waiting, runtime.clock(), timedelta(minutes=5), 10, dead
        )
        assert len(claimed) == 1
        long_ago = runtime.clock() - timedelta(minutes=1)
        session.execute(update(Process).where(Process.id == dead).values(heartbeat_at=long_ago))

    assert asyncio.run(services.messenger.deliver_due(holder=survivor)) == 0  # still leased
    owners.close_stale()
    assert asyncio.run(services.messenger.deliver_due(holder=survivor)) == 1

    with runtime.sessions() as session:
        row = session.scalars(select(Message)).one()
    assert (row.status, row.attempts, row.claimed_by) == ("sent", 2, None)
