"""Each message channel against a local stand-in of its vendor, over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from atende.adapters import CHANNELS
from atende.bootstrap import build_verifier
from atende.config import Settings
from atende.db.engine import make_engine, make_session_factory
from atende.db.models import Base, Message, Person
from atende.messaging import (
    DeliveryError,
    Messenger,
    OutgoingMessage,
    SendResult,
)
from atende.messaging.port import Unaddressable
from atende.messaging.smtp import EmailChannel
from atende.messaging.twilio import TwilioChannel
from atende.messaging.webhook import WebhookChannel
from atende.messaging.whatsapp import WhatsAppChannel
from atende.texts import text
from fakes import gateway, twilio, whatsapp
from fakes.http_fake import FakeServer
from fakes.smtp import PASSWORD, USERNAME, FakeSmtp
from test_messaging import Clock

# The stand-in asks for a password over plain text, as a relay on the local network may.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

C = TypeVar("C")
PHONE = "+5545999991234"
CODE = "482913"
EMAIL = "maria@example.com"


def otp(to: str = PHONE) -> OutgoingMessage:
    return OutgoingMessage(
        to=to,
        text=text("otp_message", code=CODE),
        kind="otp",
        template="otp_message",
        fields={"code": CODE},
    )


def protocol(to: str = PHONE) -> OutgoingMessage:
    body = text("protocol_message", item="Instalar impressora", protocol="20260000421")
    return OutgoingMessage(to=to, text=body, kind="protocol")


def send(channel: object, message: OutgoingMessage) -> SendResult:
    return asyncio.run(channel.send(message))  # type: ignore[attr-defined]


def refused(channel: object, message: OutgoingMessage) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        send(channel, message)
    assert PHONE not in str(raised.value) and CODE not in str(raised.value)
    return raised.value


# WhatsApp Cloud API


@pytest.fixture
def meta() -> Iterator[tuple[whatsapp.WhatsAppState, FakeServer]]:
    state = whatsapp.WhatsAppState()
    with FakeServer(whatsapp.whatsapp_app(state)) as server:
        yield state, server


def only_channel(kind: type[C], values: dict[str, object], **overrides: object) -> C:
    """The one channel that settings ``values`` (with ``overrides``) name."""
    (channel,) = CHANNELS.build_all(Settings(**{**values, **overrides}))  # type: ignore[arg-type]
    assert isinstance(channel, kind)
    return channel


def whatsapp_channel(url: str, **overrides: object) -> WhatsAppChannel:
    return only_channel(WhatsAppChannel, whatsapp.settings_for(url), **overrides)


def test_whatsapp_code_goes_as_an_authentication_template_with_copy_code(meta) -> None:
    state, server = meta

    result = send(whatsapp_channel(server.url), otp())

    (sent,) = state.delivered
    assert result.provider_id == sent["id"] and sent["id"].startswith("wamid.")
    assert sent["to"] == "5545999991234"
    template = sent["template"]
    assert (template["name"], template["language"]) == ("atende_codigo", {"code": "pt_BR"})
    body, button = template["components"]
    assert body["parameters"] == [{"type": "text", "text": CODE}]
    assert (button["sub_type"], button["index"]) == ("url", "0")
    assert button["parameters"] == [{"type": "text", "text": CODE}]


def test_whatsapp_protocol_goes_as_the_utility_template(meta) -> None:
    state, server = meta

    send(whatsapp_channel(server.url), protocol())

    (sent,) = state.delivered
    assert sent["template"]["name"] == "atende_aviso"
    (body,) = sent["template"]["components"]
    assert body["parameters"][0]["text"] == protocol().text


def test_whatsapp_errors_are_readable_and_classified(meta) -> None:
    state, server = meta
    state.not_on_whatsapp.add("5545999991234")

    wrong_token = refused(whatsapp_channel(server.url, whatsapp_token="expired"), protocol())
    assert wrong_token.retryable  # fixable by an administrator: keep the message
    assert "Invalid OAuth access token" in str(wrong_token) and "code 190" in str(wrong_token)

    unknown = refused(whatsapp_channel(server.url, whatsapp_template="nao_aprovado"), protocol())
    assert not unknown.retryable and "132001" in str(unknown)

    not_on_whatsapp = refused(whatsapp_channel(server.url), protocol())
    assert not not_on_whatsapp.retryable
    assert "Message undeliverable (code 131026" in str(not_on_whatsapp)


def test_whatsapp_rate_limit_and_outage_are_worth_a_retry(meta) -> None:
    state, server = meta
    channel = whatsapp_channel(server.url)
    rate_limit = {"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException",
                            "code": 130429, "fbtrace_id": "A1"}}  # fmt: skip
    state.fail(429, rate_limit, **{"Retry-After": "120"})
    state.fail(400, {"error": {**rate_limit["error"], "code": 131056}})  # pair rate limit
    state.fail(503, {"error": {"message": "Service temporarily unavailable", "code": 2}})

    limited = refused(channel, protocol())
    assert (limited.retryable, limited.retry_after) == (True, 120.0)
    assert refused(channel, protocol()).retryable
    assert refused(channel, protocol()).retryable
    server.stop()
    down = refused(channel, protocol())
    assert down.retryable and "cannot connect" in str(down)


def test_phone_channels_leave_e_mail_addresses_to_the_next_channel(meta) -> None:
    _, server = meta
    with pytest.raises(Unaddressable):
        send(whatsapp_channel(server.url), protocol(to=EMAIL))


# Twilio


@pytest.fixture
def twilio_fake() -> Iterator[tuple[twilio.TwilioState, FakeServer]]:
    state = twilio.TwilioState()
    with FakeServer(twilio.twilio_app(state)) as server:
        yield state, server


def twilio_channel(url: str, **overrides: object) -> TwilioChannel:
    return only_channel(TwilioChannel, twilio.settings_for(url), **overrides)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"To": PHONE, "From": twilio.FROM}),
        ({"twilio_whatsapp": True}, {"To": f"whatsapp:{PHONE}", "From": f"whatsapp:{twilio.FROM}"}),
        ({"twilio_from": "MG" + "1" * 32}, {"To": PHONE, "MessagingServiceSid": "MG" + "1" * 32}),
    ],
    ids=["sms", "whatsapp", "messaging-service"],
)
def test_twilio_sends_through_the_messages_api(twilio_fake, overrides, expected) -> None:
    state, server = twilio_fake

    result = send(twilio_channel(server.url, **overrides), otp())

    (sent,) = state.delivered
    assert result.provider_id == sent["sid"] and sent["sid"].startswith("SM")
    assert {key: sent[key] for key in expected} == expected
    assert CODE in sent["Body"]


def test_twilio_errors_are_readable_and_classified(twilio_fake) -> None:
    state, server = twilio_fake

    wrong = refused(twilio_channel(server.url, twilio_auth_token="wrong"), protocol())
    assert wrong.retryable and "Authenticate (code 20003" in str(wrong)

    not_a_number = "The 'To' number is not a valid phone number."
    state.fail(400, {"code": 21211, "message": not_a_number, "status": 400})
    invalid = refused(twilio_channel(server.url), protocol())
    assert not invalid.retryable and "21211" in str(invalid)

    state.fail(429, {"code": 20429, "message": "Too Many Requests", "status": 429},
               **{"Retry-After": "7"})  # fmt: skip
    state.fail(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
    limited = refused(twilio_channel(server.url), protocol())
    assert (limited.retryable, limited.retry_after) == (True, 7.0)
    assert refused(twilio_channel(server.url), protocol()).retryable


def test_twilio_verify_sends_and_checks_the_code(twilio_fake) -> None:
    state, server = twilio_fake
    settings = twilio.settings_for(server.url)
    verify = build_verifier(
        Settings(**settings, twilio_verify_service=twilio.SERVICE_SID)  # type: ignore[arg-type]
    )
    assert verify is not None

    async def scenario() -> list[bool]:
        await verify.start(PHONE)
        code = state.code_sent_to(PHONE)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        return [
            await verify.check(PHONE, wrong),
            await verify.check(PHONE, code),
            await verify.check(PHONE, code),  # used up: Twilio answers 404
        ]

    assert asyncio.run(scenario()) == [False, True, False]
    assert [r["Channel"] for r in state.requests if "Channel" in r] == ["sms"]
    assert build_verifier(Settings(**settings)) is None  # type: ignore[arg-type]


# Webhook (seed 000's gateway)


@pytest.fixture
def seed_gateway() -> Iterator[tuple[gateway.GatewayState, FakeServer]]:
    state = gateway.GatewayState()
    with FakeServer(gateway.gateway_app(state)) as server:
        yield state, server


def webhook_channel(url: str, secret: str = gateway.SECRET) -> WebhookChannel:
    values = {"messaging": "webhook", "webhook_url": f"{url}/api/send-message"}
    return only_channel(WebhookChannel, values, webhook_secret=secret)


def test_webhook_speaks_seed_000s_gateway(seed_gateway) -> None:
    state, server = seed_gateway

    result = send(webhook_channel(server.url), protocol())

    (sent,) = state.delivered
    assert (sent["phone"], sent["message"]) == ("5545999991234", protocol().text)
    assert state.requests[0]["headers"]["authorization"] == gateway.SECRET
    assert result.provider_id.startswith("webhook-")


def test_webhook_errors_carry_the_gateways_words(seed_gateway) -> None:
    state, server = seed_gateway

    assert refused(webhook_channel(server.url, secret="wrong"), protocol()).retryable
    state.logged_in = False
    logged_out = refused(webhook_channel(server.url), protocol())
    assert logged_out.retryable
    assert "HTTP 500: Você precisa estar autenticado" in str(logged_out)


def test_a_queued_message_keeps_its_idempotency_key_on_every_attempt(
    sessions: sessionmaker[Session], seed_gateway
) -> None:
    """A process that dies after the gateway took a message, before marking it sent, leaves it
    to be sent again: the gateway can drop the repeat by its ``Idempotency-Key``."""
    state, server = seed_gateway
    person_id = add_person(sessions, phone=PHONE)
    state.fail(500, {"error": "Você precisa estar autenticado para enviar mensagens."})
    clock = Clock()
    messenger = Messenger(sessions, [webhook_channel(server.url)], clock=clock)

    async def scenario() -> list[int]:
        await messenger.enqueue(protocol(), person_id)
        await messenger.enqueue(protocol(), person_id)
        sent = [await messenger.deliver_due()]  # the first fails, the second goes
        clock.now += timedelta(minutes=1)
        sent.append(await messenger.deliver_due())
        await messenger.send_now(protocol())  # sent at once, never repeated: no key
        return sent

    assert asyncio.run(scenario()) == [1, 1]
    keys = [request["headers"].get("idempotency-key") for request in state.requests]
    assert keys[0] is not None and keys[0] != keys[1]
    assert keys[2] == keys[0]  # the retry of the first message
    assert keys[3] is None


# E-mail


def email_channel(port: int, **overrides: object) -> EmailChannel:
    values: dict[str, object] = {
        "messaging": "email",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "Atendimento <atende@prefeitura.example>",
    }
    return only_channel(EmailChannel, values, **overrides)


def test_email_reaches_a_real_smtp_server_with_login() -> None:
    with FakeSmtp(require_auth=True) as smtp:
        channel = email_channel(smtp.port, smtp_username=USERNAME, smtp_password=PASSWORD)
        result = send(channel, protocol(to=EMAIL))

    (mail,) = smtp.handler.received
    assert mail["To"] == EMAIL
    assert mail["Subject"] == "Protocolo do seu chamado"
    assert mail["Message-ID"] == result.provider_id
    assert "20260000421" in mail.get_payload(decode=True).decode()


def test_email_failures_temporary_and_permanent() -> None:
    with FakeSmtp(require_auth=True) as smtp:
        unauthenticated = refused(email_channel(smtp.port), protocol(to=EMAIL))
        assert unauthenticated.retryable  # 530: a setting to fix, keep the message
        assert "530" in str(unauthenticated)
        login = {"smtp_username": USERNAME, "smtp_password": PASSWORD}
        smtp.handler.refused.add(EMAIL)
        no_mailbox = refused(email_channel(smtp.port, **login), protocol(to=EMAIL))
        assert not no_mailbox.retryable and "550" in str(no_mailbox)
        smtp.handler.refused.clear()
        smtp.handler.busy = True
        busy = refused(email_channel(smtp.port, **login), protocol(to=EMAIL))
        assert busy.retryable and "451" in str(busy)
        port = smtp.port
    down = refused(email_channel(port), protocol(to=EMAIL))
    assert down.retryable
    with pytest.raises(Unaddressable):
        send(email_channel(port), protocol())


# Through the messenger: chains, retries, Retry-After


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'atende.db'}")
    Base.metadata.create_all(engine)
    return make_session_factory(engine)


def add_person(sessions: sessionmaker[Session], **fields: str) -> int:
    with sessions.begin() as session:
        person = Person(code="1", name="Maria", **fields)
        session.add(person)
        session.flush()
        return person.id


def test_a_person_without_phone_is_reached_by_the_email_channel_of_the_chain(
    sessions: sessionmaker[Session], meta
) -> None:
    state, server = meta
    person_id = add_person(sessions, email=EMAIL)
    with FakeSmtp() as smtp:
        chain = [whatsapp_channel(server.url), email_channel(smtp.port)]
        messenger = Messenger(sessions, chain)

        async def scenario() -> int:
            await messenger.enqueue(protocol(to=EMAIL), person_id)
            return await messenger.deliver_due()

        assert asyncio.run(scenario()) == 1
    assert state.delivered == []
    assert [mail["To"] for mail in smtp.handler.received] == [EMAIL]
    with sessions() as session:
        row = session.scalars(select(Message)).one()
    assert (row.status, row.channel, row.error) == ("sent", "email", None)


def test_retry_after_is_respected_and_a_retry_keeps_the_template(
    sessions: sessionmaker[Session], meta
) -> None:
    state, server = meta
    person_id = add_person(sessions, phone=PHONE)
    rate_limit = {"error": {"message": "Rate limit hit", "code": 130429, "fbtrace_id": "B"}}
    state.fail(429, rate_limit, **{"Retry-After": "600"})
    clock = Clock()
    messenger = Messenger(sessions, [whatsapp_channel(server.url)], clock=clock)
    message = OutgoingMessage(
        to=PHONE,
        text="Seu chamado de Impressora, protocolo 20260000421, agora está resolvido.",
        kind="status_change",
        template="status_change_message",
        fields={"protocol": "20260000421", "item": "Impressora", "status": "resolvido"},
    )

    async def scenario() -> list[int]:
        await messenger.enqueue(message, person_id)
        sent = [await messenger.deliver_due()]  # 429: wait 10 minutes, not 30 s
        clock.now += timedelta(minutes=5)
        sent.append(await messenger.deliver_due())
        clock.now += timedelta(minutes=6)
        sent.append(await messenger.deliver_due())
        return sent

    assert asyncio.run(scenario()) == [0, 0, 1]
    (delivered,) = state.delivered
    assert delivered["template"]["components"][0]["parameters"][0]["text"] == message.text
    with sessions() as session:
        row = session.scalars(select(Message)).one()
    assert (row.status, row.attempts) == ("sent", 2)
    assert row.template == "status_change_message"
    assert row.template_fields == dict(message.fields)
