"""Messages: the outbox file, the messages table, fallback between channels and retries."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from atende.adapters import CHANNELS
from atende.config import Settings, SettingsError
from atende.db.engine import make_engine, make_session_factory
from atende.db.models import Base, Message, Person
from atende.messaging import (
    DeliveryError,
    Messenger,
    OutgoingMessage,
    SendResult,
)
from atende.messaging.outbox import OutboxChannel
from atende.texts import text

PHONE = "+5545999991234"
CODE = "482913"


class Down:
    """A provider that refuses every message (an outage, or a number it will never reach)."""

    def __init__(self, retryable: bool = True) -> None:
        self.name = "down"
        self.retryable = retryable
        self.calls = 0

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.calls += 1
        raise DeliveryError("provider answered 503", retryable=self.retryable)


class Flaky:
    """A provider down for its first ``failures`` calls, then up."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> SendResult:
        if self.failures:
            self.failures -= 1
            raise ConnectionError(f"cannot reach provider for {message.to}")
        self.sent.append(message)
        return SendResult(f"flaky-{len(self.sent)}")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'atende.db'}")
    Base.metadata.create_all(engine)
    return make_session_factory(engine)


@pytest.fixture
def person_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        person = Person(code="1234", name="Maria da Silva", phone=PHONE, email="maria@example.com")
        session.add(person)
        session.flush()
        return person.id


def otp(to: str = PHONE) -> OutgoingMessage:
    return OutgoingMessage(
        to=to, text=text("otp_message", code=CODE), kind="otp", fields={"code": CODE}
    )


def protocol(to: str = PHONE) -> OutgoingMessage:
    body = text("protocol_message", item="impressora", protocol="20260000421")
    return OutgoingMessage(to=to, text=body, kind="protocol")


def outbox_lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def rows(sessions: sessionmaker[Session]) -> list[Message]:
    with sessions() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def test_outbox_line_has_what_a_developer_needs(tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox.jsonl")

    result = asyncio.run(outbox.send(otp()))

    (line,) = outbox_lines(tmp_path / "outbox.jsonl")
    assert line["to"] == PHONE
    assert CODE in line["text"]
    assert line["channel"] == "outbox"
    assert line["kind"] == "otp"
    assert line["id"] == result.provider_id
    assert datetime.fromisoformat(line["created_at"]).tzinfo is not None
    assert (tmp_path / "outbox.jsonl").stat().st_mode & 0o077 == 0  # codes in clear: owner only


def _append_from_process(path: str, worker: int) -> None:
    outbox = OutboxChannel(Path(path))

    async def burst() -> None:
        await asyncio.gather(
            *(
                outbox.send(
                    OutgoingMessage(
                        to=f"w{worker}", text=f"{n} " + "x" * 6000, kind="status_change"
                    )
                )
                for n in range(50)
            )
        )

    asyncio.run(burst())


def test_concurrent_appends_from_tasks_and_processes_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_from_process, args=(str(path), n)) for n in range(4)]
    for worker in workers:
        worker.start()
    _append_from_process(str(path), 99)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    lines = outbox_lines(path)  # every line parses: none was cut or mixed with another
    assert len(lines) == 5 * 50
    for worker in (0, 1, 2, 3, 99):
        numbers = {line["text"].split()[0] for line in lines if line["to"] == f"w{worker}"}
        assert numbers == {str(n) for n in range(50)}


def test_one_time_code_reaches_the_outbox_but_never_the_table(
    tmp_path: Path, sessions: sessionmaker[Session], person_id: int
) -> None:
    outbox = tmp_path / "outbox.jsonl"
    messenger = Messenger(sessions, [OutboxChannel(outbox)])

    result = asyncio.run(messenger.send_now(otp(), person_id=person_id))

    assert CODE in outbox_lines(outbox)[0]["text"]
    (row,) = rows(sessions)
    assert CODE not in row.text
    assert "******" in row.text
    assert PHONE not in row.recipient
    assert row.recipient.endswith("34")
    assert (row.status, row.attempts, row.channel) == ("sent", 1, "outbox")
    assert row.provider_id == result.provider_id
    assert row.person_id == person_id
    assert row.sent_at is not None


def test_send_now_falls_back_to_the_next_channel(
    tmp_path: Path, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    down = Down()
    messenger = Messenger(sessions, [down, OutboxChannel(tmp_path / "outbox.jsonl")])

    with caplog.at_level(logging.DEBUG):
        asyncio.run(messenger.send_now(otp()))

    assert down.calls == 1
    assert rows(sessions)[0].channel == "outbox"
    assert "down failed" in caplog.text
    assert PHONE not in caplog.text
    assert CODE not in caplog.text


def test_send_now_raises_when_every_channel_fails(sessions: sessionmaker[Session]) -> None:
    messenger = Messenger(sessions, [Down(), Down(retryable=False)])

    with pytest.raises(DeliveryError) as raised:
        asyncio.run(messenger.send_now(otp()))

    assert raised.value.retryable  # the first channel may work again later
    (row,) = rows(sessions)
    assert row.status == "failed"
    assert CODE not in row.text
    assert "503" in (row.error or "")


def test_queued_message_waits_out_an_outage(
    sessions: sessionmaker[Session], person_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    provider = Flaky(failures=2)
    messenger = Messenger(sessions, [provider], clock=clock, first_retry=timedelta(seconds=30))

    async def scenario() -> list[int]:
        await messenger.enqueue(protocol(), person_id)
        sent = [await messenger.deliver_due()]  # outage: first failure
        clock.now += timedelta(seconds=10)
        sent.append(await messenger.deliver_due())  # too early for a retry
        clock.now += timedelta(seconds=25)
        sent.append(await messenger.deliver_due())  # second failure, next wait is 60 s
        clock.now += timedelta(seconds=59)
        sent.append(await messenger.deliver_due())
        clock.now += timedelta(seconds=2)
        sent.append(await messenger.deliver_due())  # provider is back
        sent.append(await messenger.deliver_due())  # nothing left
        return sent

    with caplog.at_level(logging.DEBUG):
        assert asyncio.run(scenario()) == [0, 0, 0, 0, 1, 0]

    (message,) = provider.sent
    assert message.to == PHONE
    assert "20260000421" in message.text
    (row,) = rows(sessions)
    assert (row.status, row.attempts, row.provider_id) == ("sent", 3, "flaky-1")
    assert row.error is None
    assert PHONE not in caplog.text


def test_refused_message_is_not_retried(sessions: sessionmaker[Session], person_id: int) -> None:
    clock = Clock()
    provider = Down(retryable=False)
    messenger = Messenger(sessions, [provider], clock=clock)

    async def scenario() -> None:
        await messenger.enqueue(protocol(), person_id)
        await messenger.deliver_due()
        clock.now += timedelta(days=1)
        await messenger.deliver_due()

    asyncio.run(scenario())

    assert provider.calls == 1
    assert rows(sessions)[0].status == "failed"


def test_retries_stop_after_max_attempts(sessions: sessionmaker[Session], person_id: int) -> None:
    clock = Clock()
    provider = Down()
    messenger = Messenger(sessions, [provider], clock=clock, max_attempts=3)

    async def scenario() -> None:
        await messenger.enqueue(protocol(), person_id)
        for _ in range(6):
            await messenger.deliver_due()
            clock.now += timedelta(hours=2)

    asyncio.run(scenario())

    assert provider.calls == 3
    (row,) = rows(sessions)
    assert (row.status, row.attempts) == ("failed", 3)


def test_queued_message_goes_to_the_address_it_was_queued_for(
    sessions: sessionmaker[Session], person_id: int
) -> None:
    provider = Flaky(failures=0)
    messenger = Messenger(sessions, [provider])

    async def scenario() -> None:
        await messenger.enqueue(protocol(to="maria@example.com"), person_id)
        await messenger.deliver_due()

    asyncio.run(scenario())

    assert [message.to for message in provider.sent] == ["maria@example.com"]


def test_message_fails_when_the_person_changed_their_phone(
    sessions: sessionmaker[Session], person_id: int
) -> None:
    provider = Flaky(failures=0)
    messenger = Messenger(sessions, [provider])

    async def scenario() -> None:
        await messenger.enqueue(protocol(), person_id)
        with sessions.begin() as session:
            session.get_one(Person, person_id).phone = "+5511988887777"
        await messenger.deliver_due()

    asyncio.run(scenario())

    assert provider.sent == []
    assert rows(sessions)[0].status == "failed"


def test_two_workers_deliver_a_message_once(
    sessions: sessionmaker[Session], person_id: int
) -> None:
    provider = Flaky(failures=0)
    first, second = Messenger(sessions, [provider]), Messenger(sessions, [provider])

    async def scenario() -> None:
        for _ in range(5):
            await first.enqueue(protocol(), person_id)
        await asyncio.gather(first.deliver_due(), second.deliver_due())

    asyncio.run(scenario())

    assert len(provider.sent) == 5
    assert {row.status for row in rows(sessions)} == {"sent"}


def test_channels_come_from_settings(tmp_path: Path) -> None:
    (channel,) = CHANNELS.build_all(Settings(data_dir=tmp_path))

    assert isinstance(channel, OutboxChannel)
    assert channel.path == tmp_path / "outbox.jsonl"
    with pytest.raises(SettingsError, match="ATENDE_MESSAGING"):
        CHANNELS.build_all(Settings(data_dir=tmp_path, messaging="carrier-pigeon"))
