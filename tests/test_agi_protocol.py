"""The FastAGI protocol layer against the fake Asterisk: replies, hang-ups, quoting, timeouts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from atende.agi import (
    AgiChannel,
    AgiCommandError,
    AgiEnvironment,
    AgiProtocolError,
    AgiReply,
    AgiServer,
    AgiTimeout,
    CallerGone,
    PlaybackFailed,
    parse_environment,
)
from atende.agi.emulator import (
    DEAD,
    HANGUP,
    AsteriskEmulator,
    CallerInput,
    EmulatedCommand,
    parse_args,
)
from atende.agi.protocol import format_command, parse_reply_line, quote

TRANSCRIPT_ENVIRONMENT = """\
agi_network: yes
agi_network_script: ura
agi_request: agi://127.0.0.1:4573/ura
agi_channel: PJSIP/sipp-00000000
agi_language: en
agi_type: PJSIP
agi_uniqueid: 1795228819.8
agi_version: 22.10.1
agi_callerid: unknown
agi_calleridname: unknown
agi_callingpres: 67
agi_callingani2: 0
agi_callington: 0
agi_callingtns: 0
agi_dnid: 100
agi_rdnis: unknown
agi_context: ivr
agi_extension: 100
agi_priority: 3
agi_enhanced: 0.0
agi_accountcode: 
agi_threadid: 139645065287360
agi_arg_1: arg1
agi_arg_2: arg2
"""  # noqa: W291 - the trailing space after agi_accountcode is what Asterisk sends

Flow = Callable[[AgiChannel], Awaitable[Any]]


def call(
    flow: Flow, command_timeout: float = 5.0, **fake_options: Any
) -> tuple[Any, AsteriskEmulator]:
    """Run ``flow`` as the handler of one call from a fake Asterisk; (its outcome, the fake).

    The outcome is what the flow returned, or the exception it raised.
    """
    outcome: dict[str, Any] = {}

    async def handler(channel: AgiChannel) -> None:
        try:
            outcome["value"] = await flow(channel)
        except Exception as exc:
            outcome["value"] = exc

    async def main() -> AsteriskEmulator:
        server = AgiServer("127.0.0.1", 0, command_timeout=command_timeout)
        server.route("ura", handler)
        await server.start()
        try:
            return await AsteriskEmulator(server.port, **fake_options).run()
        finally:
            await server.stop(1)

    fake = asyncio.run(main())
    return outcome["value"], fake


def test_environment_block_from_the_transcript() -> None:
    env = parse_environment(TRANSCRIPT_ENVIRONMENT.splitlines())
    assert env.network_script == "ura"
    assert env.request == "agi://127.0.0.1:4573/ura"
    assert env.channel == "PJSIP/sipp-00000000"
    assert env.uniqueid == "1795228819.8"
    assert env.callerid is None
    assert env.calleridname is None
    assert (env.dnid, env.context, env.extension, env.priority) == ("100", "ivr", "100", "3")
    assert (env.language, env.version) == ("en", "22.10.1")
    assert env.args == ["arg1", "arg2"]
    assert env.raw["agi_accountcode"] == ""
    assert env.raw["agi_threadid"] == "139645065287360"


def test_environment_args_in_numeric_order_and_caller_id_kept_out_of_repr() -> None:
    lines = ["agi_callerid: 5550100"] + [f"agi_arg_{n}: a{n}" for n in (10, 2, 1, 9)]
    env = parse_environment(lines)
    assert env.args == ["a1", "a2", "a9", "a10"]
    assert env.callerid == "5550100"
    assert "5550100" not in repr(env)


def test_environment_rejects_what_is_not_agi() -> None:
    with pytest.raises(AgiProtocolError):
        parse_environment(["GET / HTTP/1.1"])


def test_fake_environment_reaches_the_handler_typed() -> None:
    env, _ = call(
        lambda channel: asyncio.sleep(0, channel.env),
        callerid="5550100",
        uniqueid="1.2",
        args=["first", "second arg"],
    )
    assert isinstance(env, AgiEnvironment)
    assert (env.network_script, env.callerid, env.uniqueid) == ("ura", "5550100", "1.2")
    assert env.args == ["first", "second arg"]
    assert env.raw["agi_accountcode"] == ""


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("200 result=0", AgiReply(200, "0")),
        ("200 result=0 endpos=2000", AgiReply(200, "0", None, 2000)),
        ("200 result=53 endpos=10400", AgiReply(200, "53", None, 10400)),
        ("200 result=-1 endpos=0", AgiReply(200, "-1", None, 0)),
        ("200 result=12", AgiReply(200, "12")),
        ("200 result=1 (timeout)", AgiReply(200, "1", "timeout")),
        ("200 result= (timeout)", AgiReply(200, "", "timeout")),
        (
            "200 result=1 (Local/test@ivr-00000002;2)",
            AgiReply(200, "1", "Local/test@ivr-00000002;2"),
        ),
        ("200 result=1 (a (nested) value)", AgiReply(200, "1", "a (nested) value")),
    ],
)
def test_every_200_form_parses(line: str, reply: AgiReply) -> None:
    assert parse_reply_line(line) == reply


def test_a_reply_that_is_not_agi_is_a_protocol_error() -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply_line("HTTP/1.1 400 Bad Request")


@pytest.mark.parametrize(
    "value", ["beep", "hello world", 'say "hi"', "back\\slash", "", "0123456789*#", "a\tb"]
)
def test_quoting_survives_asterisks_argument_parser(value: str) -> None:
    assert parse_args(format_command("SET VARIABLE", "X", value)) == ["SET", "VARIABLE", "X", value]


def test_quoting_refuses_line_breaks_that_would_inject_a_command() -> None:
    with pytest.raises(ValueError):
        quote("1\nHANGUP")


def test_typed_helpers_send_what_asterisk_expects_and_read_its_replies() -> None:
    async def flow(channel: AgiChannel) -> list[Any]:
        await channel.answer()
        results: list[Any] = [
            await channel.stream_file("welcome"),
            await channel.stream_file("menu", "0123456789*#"),
            await channel.stream_file("menu", "12"),
            await channel.get_data("ask-code", 4000, 4),
            await channel.get_data("ask-code", 4000, 4),
            await channel.get_data("ask-code", 4000, 4),
            await channel.get_data("ask-code", 4000, 4),
            await channel.wait_for_digit(5000),
            await channel.wait_for_digit(5000),
            await channel.say_digits("2024"),
        ]
        await channel.set_variable("GREETING", 'hello "world"')
        results += [
            await channel.get_variable("GREETING"),
            await channel.get_variable("UNSET"),
            await channel.get_full_variable("${CHANNEL}"),
            await channel.channel_status(),
            await channel.exec("Queue", "support", "", "", "", 20),
        ]
        await channel.set_context("queues")
        await channel.set_extension("s")
        await channel.set_priority(1)
        await channel.verbose("call in progress", 3)
        await channel.noop()
        return results

    results, fake = call(flow, inputs=["5", "9", "12#", "1", None, "98765", "#", None])
    assert results == [
        None,
        "5",
        None,  # 9 is not an escape digit: the prompt plays to the end
        ("12", False),
        ("1", True),
        ("", True),
        ("9876", False),  # max digits reached
        "#",
        None,
        None,
        'hello "world"',
        None,
        "PJSIP/sipp-00000000",
        6,
        0,
    ]
    assert fake.commands == [
        "ANSWER",
        'STREAM FILE welcome ""',
        "STREAM FILE menu 0123456789*#",
        "STREAM FILE menu 12",
        "GET DATA ask-code 4000 4",
        "GET DATA ask-code 4000 4",
        "GET DATA ask-code 4000 4",
        "GET DATA ask-code 4000 4",
        "WAIT FOR DIGIT 5000",
        "WAIT FOR DIGIT 5000",
        'SAY DIGITS 2024 ""',
        'SET VARIABLE GREETING "hello \\"world\\""',
        "GET VARIABLE GREETING",
        "GET VARIABLE UNSET",
        "GET FULL VARIABLE ${CHANNEL}",
        "CHANNEL STATUS",
        "EXEC Queue support,,,,20",
        "SET CONTEXT queues",
        "SET EXTENSION s",
        "SET PRIORITY 1",
        'VERBOSE "call in progress" 3',
        "NOOP",
    ]
    assert fake.files_played == ["welcome", "menu", "menu"] + ["ask-code"] * 4
    assert fake.digits_said == ["2024"]
    assert ("exec", "Queue support,,,,20") in fake.played
    assert (fake.context, fake.extension, fake.priority) == ("queues", "s", "1")
    assert fake.errors == []


def test_unknown_command_is_a_510_and_the_channel_stays_usable() -> None:
    async def flow(channel: AgiChannel) -> tuple[AgiCommandError, int]:
        with pytest.raises(AgiCommandError) as caught:
            await channel.command("FOOBAR")
        return caught.value, await channel.channel_status()

    (error, status), fake = call(flow)
    assert (error.code, error.text) == (510, "Invalid or unknown command")
    assert status == 6
    assert fake.transcript[0] == ("FOOBAR", ["510 Invalid or unknown command"])


def test_wrong_usage_is_a_multiline_520_read_to_its_end() -> None:
    async def flow(channel: AgiChannel) -> tuple[AgiCommandError, str | None]:
        with pytest.raises(AgiCommandError) as caught:
            await channel.command("WAIT FOR DIGIT")
        await channel.set_variable("AFTER", "520")
        return caught.value, await channel.get_variable("AFTER")

    (error, after), fake = call(flow)
    assert error.code == 520
    assert error.text.splitlines() == [
        "Invalid command syntax.  Proper usage follows:",
        " Usage: WAIT FOR DIGIT <timeout>",
        "End of proper usage.",
    ]
    assert after == "520"  # the replies after the 520 block are not shifted
    assert len(fake.transcript[0][1]) == 3


def test_hangup_while_idle_is_skipped_and_remembered() -> None:
    async def flow(channel: AgiChannel) -> tuple[bool, str | None, CallerGone]:
        await channel.answer()
        with pytest.raises(CallerGone):
            await channel.stream_file("beep")
        noticed = channel.hung_up
        value = await channel.get_full_variable("${UNIQUEID}")  # still answered after hang-up
        with pytest.raises(CallerGone) as caught:
            await channel.wait_for_digit(1000)
        return noticed, value, caught.value

    (noticed, value, _), fake = call(flow, hangup_after_commands=1, uniqueid="42.1")
    assert noticed is True
    assert value == "42.1"
    assert fake.wire[:4] == [
        (">>", "ANSWER"),
        ("<<", "200 result=0"),
        ("<<", "HANGUP"),
        (">>", 'STREAM FILE beep ""'),
    ]
    assert fake.transcript[1] == ('STREAM FILE beep ""', [DEAD])
    # WAIT FOR DIGIT would get a 511 anyway: it is refused without a round trip.
    assert fake.commands == ["ANSWER", 'STREAM FILE beep ""', "GET FULL VARIABLE ${UNIQUEID}"]
    assert fake.closed_by_server


def test_hangup_right_after_minus_one() -> None:
    async def flow(channel: AgiChannel) -> str | None:
        with pytest.raises(CallerGone):
            await channel.wait_for_digit(10000)
        await channel.set_variable("Y", "2")
        with pytest.raises(CallerGone):
            await channel.stream_file("beep")
        return await channel.get_variable("Y")

    value, fake = call(flow, inputs=[HANGUP])
    assert value == "2"
    assert fake.transcript[0] == ("WAIT FOR DIGIT 10000", ["200 result=-1", "HANGUP"])
    assert fake.commands == ["WAIT FOR DIGIT 10000", "SET VARIABLE Y 2", "GET VARIABLE Y"]
    assert fake.hung_up_by == "caller"


def test_hangup_before_the_reply_of_the_next_command() -> None:
    async def flow(channel: AgiChannel) -> str | None:
        with pytest.raises(CallerGone):
            await channel.stream_file("menu", "123")
        return await channel.get_variable("CHANNEL")

    value, fake = call(flow, inputs=[HANGUP], hangup_notice="next_command")
    assert value == "PJSIP/sipp-00000000"
    assert fake.transcript[0] == ("STREAM FILE menu 123", ["200 result=-1 endpos=8000"])
    # result=-1 is ambiguous (hang-up or unplayable file): the channel tells which.
    assert fake.transcript[1] == ("CHANNEL STATUS", ["HANGUP", DEAD])


def test_unplayable_file_is_not_mistaken_for_a_hangup() -> None:
    async def flow(channel: AgiChannel) -> tuple[PlaybackFailed, str | None]:
        with pytest.raises(PlaybackFailed) as caught:
            await channel.stream_file("no-such-file")
        return caught.value, await channel.stream_file("beep")

    (error, key), fake = call(flow, missing_files=["no-such-file"])
    assert "no-such-file" in str(error)
    assert key is None
    assert fake.files_played == ["beep"]


def test_closed_socket_ends_the_call() -> None:
    async def flow(channel: AgiChannel) -> CallerGone:
        await channel.set_variable("AGIEXITONHANGUP", "yes")
        with pytest.raises(CallerGone):
            await channel.wait_for_digit(5000)
        with pytest.raises(CallerGone) as caught:
            await channel.get_variable("X")  # allowed after hang-up, but the socket is gone
        return caught.value

    error, fake = call(flow, inputs=[HANGUP])
    assert "closed" in str(error)
    assert fake.transcript[-1] == ("WAIT FOR DIGIT 5000", ["200 result=-1", "HANGUP", "HANGUP"])
    assert not fake.closed_by_server


def test_concurrent_helpers_never_overlap_on_the_wire() -> None:
    async def flow(channel: AgiChannel) -> list[Any]:
        return list(
            await asyncio.gather(
                channel.get_variable("CHANNEL"),
                channel.noop(),
                channel.channel_status(),
                channel.get_data("code", 3000, 6),
                channel.set_variable("A", "1"),
            )
        )

    results, fake = call(flow, inputs=["123456"], command_delay=0.02)
    assert results == ["PJSIP/sipp-00000000", None, 6, ("123456", False), None]
    assert len(fake.transcript) == 5
    assert fake.errors == []


def test_the_fake_detects_a_second_command_sent_too_early() -> None:
    """Control for the test above: without the lock, the fake would have noticed."""

    async def main() -> AsteriskEmulator:
        async def raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while await reader.readline() not in (b"\n", b""):
                pass
            writer.write(b'STREAM FILE beep "1"\nNOOP\n')
            await reader.readline()
            writer.close()

        server = await asyncio.start_server(raw, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await AsteriskEmulator(port, command_delay=0.02).run()

    fake = asyncio.run(main())
    assert len(fake.errors) == 1
    assert fake.transcript[0] == ('STREAM FILE beep "1"', [])  # never answered, as on Asterisk


def test_command_timeout_kills_the_call() -> None:
    async def flow(channel: AgiChannel) -> tuple[AgiTimeout, CallerGone]:
        with pytest.raises(AgiTimeout) as timed_out:
            await channel.noop()
        with pytest.raises(CallerGone) as after:
            await channel.get_variable("X")
        return timed_out.value, after.value

    (timed_out, after), fake = call(flow, command_timeout=0.1, unanswered=["NOOP"])
    assert isinstance(timed_out, CallerGone)
    assert "NOOP" in str(timed_out)
    assert str(after) == str(timed_out)  # dead for good, and it says why
    assert fake.commands == ["NOOP"]  # nothing else was written to the stuck connection


def test_logs_hold_no_caller_id_nor_typed_digits(caplog: pytest.LogCaptureFixture) -> None:
    async def flow(channel: AgiChannel) -> None:
        digits, _ = await channel.get_data("ask-cpf", 3000, 11)
        await channel.say_digits(digits)
        await channel.set_variable("CPF", digits)
        await channel.hangup()

    caplog.set_level(logging.DEBUG, logger="atende.agi")
    _, fake = call(flow, callerid="4599991234", inputs=["12345678909"])
    assert fake.digits_said == ["12345678909"]
    assert any("SAY DIGITS" in record.getMessage() for record in caplog.records)
    text = caplog.text
    assert "12345678909" not in text
    assert "4599991234" not in text


def test_hangup_while_the_flow_is_busy_elsewhere() -> None:
    """The second transcript example: HANGUP arrives on its own during slow work."""

    async def flow(channel: AgiChannel) -> bool:
        await channel.answer()
        await asyncio.sleep(0.1)  # an API call, say; the caller hangs up meanwhile
        with pytest.raises(CallerGone):
            await channel.stream_file("beep")
        await channel.noop()
        await channel.hangup()  # Asterisk would answer 511: not sent
        return channel.hung_up

    hung_up, fake = call(flow, hangup_after_seconds=0.02)
    assert hung_up
    assert fake.transcript == [
        ("ANSWER", ["200 result=0"]),
        ('STREAM FILE beep ""', [DEAD]),
        ("NOOP", ["200 result=0"]),
    ]
    assert ("<<", "HANGUP") in fake.wire


def test_on_prompt_chooses_keys_from_what_was_played() -> None:
    async def flow(channel: AgiChannel) -> list[Any]:
        results: list[Any] = [
            await channel.stream_file("main-menu", "123"),
            await channel.get_data("ask-code", 3000, 4),
        ]
        with pytest.raises(CallerGone):
            await channel.wait_for_digit(2000)
        return results

    async def caller(command: EmulatedCommand) -> CallerInput:
        await asyncio.sleep(0)
        return {"STREAM FILE": "2", "GET DATA": "77#"}.get(command.verb, HANGUP)

    results, fake = call(flow, on_prompt=caller)
    assert results == ["2", ("77", False)]
    assert fake.hung_up_by == "caller"
    assert fake.files_played == ["main-menu", "ask-code"]
