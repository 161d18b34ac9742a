"""The URA when Asterisk answers what the FastAGI protocol does not allow: the call is recorded
as failed in the database, logged once without a traceback, and its connection is closed."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from atende.services.bundle import Services
from ura_harness import ScriptedCaller, call_ura

MakeServices = Callable[..., Services]


@pytest.mark.parametrize(
    "reply", ["100 result=0 Trying...", "503 result=-2 Memory allocation failure"]
)
def test_a_reply_the_parser_does_not_know_fails_the_call(
    make_services: MakeServices, reply: str, caplog: pytest.LogCaptureFixture
) -> None:
    services = make_services()
    caller = ScriptedCaller([])

    with caplog.at_level(logging.INFO):
        fake = call_ura(services, caller, replies={"STREAM FILE": [reply]})
    # The first prompt got the unknown reply: nothing more was sent on that connection.
    assert fake.commands[0] == "ANSWER" and fake.commands[1].startswith("STREAM FILE ")
    assert len(fake.commands) == 2
    assert fake.closed_by_server and fake.hung_up_by is None
    call = services.calls.get(fake.uniqueid)
    assert call.outcome == "failed" and call.ended_at is not None
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1
    assert problems[0].exc_info is None and reply[:4] in problems[0].getMessage()
