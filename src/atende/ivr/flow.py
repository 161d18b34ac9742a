"""Seed 000's URA as readable async code: main menu, open a ticket, ticket status, technician.

Rules this flow keeps (the issue's list, in order of the call):
- 0 in any menu reaches a person, before any identification (Decreto 11.034);
- a wrong or missing key repeats the menu, three times, then a polite goodbye;
- slow work (sending the one-time code, synthesizing the name) runs while a prompt that listens
  for keys plays, because Asterisk drops keys pressed while no command runs;
- another person's ticket and a missing one get the same answer;
- every step is recorded, and a caller who hangs up ends the call record where it stopped;
- a protocol's message is queued with the protocol itself (a ticket's in its own transaction;
  in health-plan mode as soon as the caller is known), so a hang-up cannot lose it, and a call
  that opened a ticket ends ``ticket_opened`` whatever happens after.

Service calls are synchronous (SQLAlchemy); they run in worker threads via ``asyncio.to_thread``
so one slow database call never stalls the other calls of the process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from atende.agi.errors import AgiProtocolError, CallerGone
from atende.config import Settings
from atende.db.models import Category, Item, Ticket
from atende.domain.business_hours import BusinessHours
from atende.domain.otp_policy import MAX_WRONG_ENTRIES, needs_code
from atende.ivr.call import Call, Destination
from atende.ivr.menus import ATTENDANT_KEY, CATEGORY_REPEAT_KEY, ITEM_REPEAT_KEY, menu_text
from atende.ivr.recorder import CallRecorder
from atende.ivr.steps import StepWriter
from atende.messaging import DeliveryError, Messenger
from atende.services.bundle import Services
from atende.services.calls import Outcome
from atende.services.errors import ServiceError
from atende.services.helpdesk_sync import StatusAnswer
from atende.services.otp import OneTimeCodes, VerifyResult, VerifyStatus
from atende.services.people import PersonView
from atende.services.tickets import NewTicket
from atende.speech.numbers import date_for_speech, digit_parts
from atende.texts import text

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_TRIES = 3
KEY_TIMEOUT_S = 5.0
DIGITS_TIMEOUT_S = 8.0
MAX_CODE_DIGITS = 16
MAX_PROTOCOL_DIGITS = 24
OTP_DIGITS = 6
PROTOCOL_REPEATS = 3
TICKET_DESCRIPTION = "Aberto pela URA"


class CallEnded(Exception):
    """The flow is over: say goodbye (unless the caller is gone) with this outcome."""

    def __init__(self, outcome: Outcome, goodbye: bool = True) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome
        self.goodbye = goodbye


class ToAttendant(Exception):
    """The caller pressed 0 (or 3): leave whatever menu for the technician branch."""


@dataclass
class Caller:
    # None: a registration code nobody has, kept secret until the one-time code fails.
    person: PersonView | None
    by_extension: bool


@dataclass
class FlowDeps:
    """What the flow needs besides the call: built once per process (see ivr.wiring)."""

    services: Services
    codes: OneTimeCodes
    messenger: Messenger
    hours: Callable[[], BusinessHours]  # asked at each call: the dashboard may change them
    settings: Settings
    steps: StepWriter  # every call's steps, stored as they happen
    owner_id: int | None = None  # this process's row in ``processes`` (see call_owners)

    @property
    def language(self) -> str:
        return self.settings.language


class UraFlow:
    """One call through the URA. ``await UraFlow(deps, call).run()``."""

    def __init__(self, deps: FlowDeps, call: Call) -> None:
        self.deps = deps
        self.services = deps.services
        self.call = call
        self.recorder: CallRecorder | None = None
        self.call_id: int | None = None
        self.protocol: str | None = None  # the call's protocol: at start, or the ticket's
        self.ticket_opened = False
        self.linking: asyncio.Task[None] | None = None  # health-plan mode: caller id -> person

    # -- small helpers ------------------------------------------------------------------

    def t(self, key: str, **fields: object) -> str:
        return text(key, self.deps.language, **fields)

    def step(self, name: str, **detail: object) -> None:
        if self.recorder is not None:
            self.recorder.step(name, self.services.runtime.clock(), **detail)

    async def db(self, function: Callable[..., T], *args: object, **kwargs: object) -> T:
        return await asyncio.to_thread(function, *args, **kwargs)

    async def waiting(self, work: Awaitable[T]) -> T:
        """Await work that may ask an external system (directory, helpdesk): each time it
        keeps the caller in silence for ``ATENDE_ONE_MOMENT_AFTER`` seconds, say "one moment"."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.deps.settings.one_moment_after)
                if done:
                    return task.result()
                self.step("one_moment")
                await self.call.play(self.t("one_moment"))
        finally:
            task.cancel()

    async def menu(self, prompt: str, keys: str, *, name: str, repeat_key: str = "") -> str:
        """Play ``prompt`` until the caller presses one of ``keys`` (0 always reaches a person).

        The repeat key replays without counting as a wrong answer; three wrong or missing
        answers end the call.
        """
        listen = keys + ATTENDANT_KEY + repeat_key
        failures = 0
        while failures < MAX_TRIES:
            key = await self.call.play(prompt, listen) or await self.call.wait_key(KEY_TIMEOUT_S)
            if key == ATTENDANT_KEY:
                self.step(name, key=key)
                raise ToAttendant
            if key and key == repeat_key:
                continue
            if key and key in keys:
                self.step(name, key=key)
                return key
            failures += 1
            self.step(name, key=key or "", result="invalid" if key else "no_input")
            await self.call.play(self.t("invalid_option" if key else "no_option"))
        raise CallEnded(Outcome.NO_INPUT)

    # -- the call -------------------------------------------------------------------------

    async def run(self) -> Outcome:
        record = await self.db(
            self.services.calls.start,
            self.call.uniqueid,
            self.call.caller_id,
            self.call.channel_name,
            self.deps.owner_id,
        )
        self.call_id = record.id
        self.recorder = CallRecorder(self.services.calls, self.deps.steps, record.id)
        helpdesk = self.services.helpdesk
        helpdesk.call_event("newCall", self.call.uniqueid, self.call.caller_id)
        outcome = Outcome.FAILED
        try:
            await self.call.answer()
            self.step("answered")
            helpdesk.call_event("answer", self.call.uniqueid, self.call.caller_id)
            outcome = await self.main()
        except CallEnded as ended:
            outcome = ended.outcome
            if ended.goodbye:
                await self.goodbye()
        except CallerGone:
            outcome = Outcome.ABANDONED
            self.step("hangup", at_step=self.recorder.last_step)
        except AgiProtocolError:
            raise  # failed; the connection is unusable, and the server logs why and closes it
        except Exception:
            log.exception("call %s failed", record.id)
            outcome = Outcome.FAILED
            await self.apologise()
        finally:
            if self.linking is not None:
                await self.linking
            if self.ticket_opened:  # whatever happened after, this call opened a ticket
                outcome = Outcome.TICKET_OPENED
            await self.recorder.end(outcome)
            helpdesk.call_event("hangup", self.call.uniqueid, self.call.caller_id, outcome)
        return outcome

    async def goodbye(self) -> None:
        try:
            await self.call.play(self.t("goodbye"))
            await self.call.hang_up()
        except CallerGone:
            pass

    async def apologise(self) -> None:
        try:
            await self.call.play(self.t("technical_problem"))
            await self.call.hang_up()
        except Exception:  # the call is being ended after a fault: nothing more to do
            log.debug("could not apologise to the caller", exc_info=True)

    async def main(self) -> Outcome:
        greeting = self.t("greeting")
        if self.deps.settings.protocol_at_start:
            protocol = await self.db(
                self.services.protocols.issue, channel="phone", call_id=self.call_id
            )
            self.protocol = protocol.number
            self.step("protocol_issued")
            self.linking = asyncio.create_task(self.link_caller())
            await self.call.play(
                [greeting, self.t("protocol_at_start"), *digit_parts(protocol.number)]
            )
        else:
            await self.call.play(greeting)
        try:
            choice = await self.menu(self.t("main_menu"), "123", name="main_menu", repeat_key="9")
            if choice == "1":
                return await self.open_ticket()
            if choice == "2":
                return await self.ticket_status()
            return await self.attendant()
        except ToAttendant:
            return await self.attendant()

    async def link_caller(self) -> None:
        """Health-plan mode: when the caller's number is a person's phone, the call is theirs
        and the protocol issued at the start goes to them at once (RN 623), even if they hang
        up before saying who they are. Runs while the greeting plays."""
        caller_id = self.call.caller_id
        if not caller_id:
            return
        try:
            person = await self.services.directory.identify("phone", caller_id)
            if person is not None:
                await self.db(self.services.calls.identify, self.call_id, person.id)
        except Exception as exc:  # the call goes on; the protocol is linked at identification
            # The type only: an error's text may hold the number.
            log.warning("call %s: caller id lookup failed: %s", self.call_id, type(exc).__name__)

    # -- identification -------------------------------------------------------------------

    async def identify(self, *, hide_unknown: bool = False) -> Caller:
        """Who is calling: their own extension, else a registration code typed on the keypad.

        With ``hide_unknown`` a code nobody has is not told apart: the caller goes on as an
        unknown person (``Caller.person`` None), whom :meth:`verify_code` fails like a person
        who typed a wrong one-time code.
        """
        caller_id = self.call.caller_id
        if caller_id:
            person = await self.waiting(self.services.directory.identify("extension", caller_id))
            if person is not None:
                self.step("identified", by="extension")
                await self.db(self.services.calls.identify, self.call_id, person.id)
                return Caller(person, by_extension=True)
        for _ in range(MAX_TRIES):
            code, _ = await self.call.ask(self.t("ask_code"), MAX_CODE_DIGITS, DIGITS_TIMEOUT_S)
            if code:
                found = await self.waiting(self.services.directory.identify("code", code))
                if found is not None:
                    self.step("identified", by="code")
                    await self.db(self.services.calls.identify, self.call_id, found.id)
                    return Caller(found, by_extension=False)
            self.step("identify", result="unknown_code" if code else "no_input")
            if code and hide_unknown:
                return Caller(None, by_extension=False)
            await self.call.play(self.t("unknown_code" if code else "no_option"))
        await self.call.play(self.t("too_many_tries"))
        raise CallEnded(Outcome.NO_INPUT)

    async def verify_code(self, caller: Caller, confirm_text: str = "") -> None:
        """Send a one-time code and have the caller type it; ends the call when it fails.

        The code is issued and sent, and the caller's name synthesized, while the prompt that
        asks for the code plays (a key-listening GET DATA): no key the caller types is lost.
        An unknown caller hears the same prompts, no code is sent, and every entry is wrong.
        """
        person = caller.person
        if person is not None and not person.phone:
            self.step("otp", result="no_phone")
            await self.call.play(self.t("no_phone"))
            raise CallEnded(Outcome.FAILED)
        sending = asyncio.create_task(self.send_code(person))
        naming = asyncio.create_task(self.prepare(confirm_text))
        prompt = f"{self.t('otp_sent')} {self.t('ask_otp')}"
        try:
            for attempt in range(MAX_TRIES):
                typed, _ = await self.call.ask(prompt, OTP_DIGITS, DIGITS_TIMEOUT_S * 2)
                if attempt == 0 and not await sending:
                    self.step("otp", result="not_sent")
                    await self.call.play(self.t("otp_unavailable"))
                    raise CallEnded(Outcome.FAILED)
                result = await self.check_code(person, typed, attempt)
                if result.status is VerifyStatus.OK:
                    self.step("otp", result="ok")
                    return
                self.step("otp", result=result.status.name.lower())
                if result.status is not VerifyStatus.WRONG or not result.attempts_left:
                    break
                await self.call.play(self.t("wrong_otp"))
                prompt = self.t("ask_otp")
            await self.call.play(self.t("wrong_otp"))
            raise CallEnded(Outcome.VERIFICATION_FAILED)
        finally:
            for task in (sending, naming):
                if not task.done():
                    task.cancel()

    async def send_code(self, person: PersonView | None) -> bool:
        if person is None:  # an unknown caller: nothing to send, nothing to tell
            return True
        try:
            await self.deps.codes.send(person, self.call_id)
        except (ServiceError, DeliveryError) as exc:
            log.warning("one-time code not sent for call %s: %s", self.call_id, type(exc).__name__)
            return False
        return True

    async def check_code(self, person: PersonView | None, typed: str, attempt: int) -> VerifyResult:
        """The check of the ``attempt``-th entry (from 0); an unknown caller's is always wrong,
        with the attempts left counted down as a real code's are."""
        if person is None:
            left = MAX_WRONG_ENTRIES - attempt - 1
            return VerifyResult(VerifyStatus.WRONG if left > 0 else VerifyStatus.LOCKED, left)
        return await self.deps.codes.check(person, typed)

    async def prepare(self, spoken: str) -> None:
        """Synthesize a text ahead of time, so that its play starts at once."""
        if spoken:
            await self.call.prepare(spoken)

    async def confirm(self, caller: Caller, confirm_text: str) -> None:
        key = await self.menu(confirm_text, "12", name="confirm_name")
        if key == "2":
            await self.call.play(self.t("not_you"))
            raise CallEnded(Outcome.DECLINED)

    # -- 1: open a ticket -------------------------------------------------------------------

    async def open_ticket(self) -> Outcome:
        caller = await self.identify()
        assert caller.person is not None  # only identify(hide_unknown=True) lets one through
        confirm_text = self.t("confirm_name", name=caller.person.name)
        if needs_code(self.deps.settings.otp, caller.by_extension):
            await self.verify_code(caller, confirm_text)
        await self.confirm(caller, confirm_text)
        item = await self.choose_item()
        ticket = await self.create_ticket(caller.person, item)
        await self.read_protocol(ticket)
        await self.survey()
        raise CallEnded(Outcome.TICKET_OPENED)

    async def choose_item(self) -> Item:
        categories: list[Category] = [
            c for c in await self.db(self.services.catalog.tree) if c.items
        ]
        intro = self.t("category_menu_intro")
        prompt = menu_text(intro, categories, CATEGORY_REPEAT_KEY, self.deps.language)
        keys = "".join(c.key for c in categories)
        key = await self.menu(prompt, keys, name="category", repeat_key=CATEGORY_REPEAT_KEY)
        category = next(c for c in categories if c.key == key)
        if len(category.items) == 1:
            return category.items[0]
        intro = self.t("item_menu_intro", category=category.prompt)
        prompt = menu_text(intro, category.items, ITEM_REPEAT_KEY, self.deps.language)
        keys = "".join(i.key for i in category.items)
        key = await self.menu(prompt, keys, name="item", repeat_key=ITEM_REPEAT_KEY)
        return next(i for i in category.items if i.key == key)

    async def create_ticket(self, person: PersonView, item: Item) -> Ticket:
        new = NewTicket(
            person_code=person.code,
            item_id=item.id,
            description=TICKET_DESCRIPTION,
            channel="phone",
            call_id=self.call_id,
            # A retried AGI run of the same call finds the ticket it already opened.
            idempotency_key=f"call:{self.call.uniqueid}:item:{item.id}",
            send_protocol=True,  # queued with the ticket: a hang-up from here on loses nothing
        )
        ticket, _ = await self.db(self.services.tickets.open, new, "ura")
        self.ticket_opened = True
        self.services.helpdesk.push_soon()  # to the external helpdesk, if any, off the call
        self.protocol = ticket.protocol
        self.step("ticket_opened", item_id=item.id)
        assert self.recorder is not None
        await self.recorder.flush()
        return ticket

    async def read_protocol(self, ticket: Ticket) -> None:
        spoken = [
            self.t("ticket_opened"),
            *digit_parts(ticket.protocol),
            "",
            self.t("repeat_protocol"),
        ]
        for _ in range(PROTOCOL_REPEATS):
            key = await self.call.play(spoken, "1") or await self.call.wait_key(KEY_TIMEOUT_S)
            if key != "1":
                return
            self.step("protocol_repeated")

    # -- 2: ticket status -----------------------------------------------------------------

    async def ticket_status(self) -> Outcome:
        person = await self.verified_person()
        scheme = self.services.runtime.scheme
        for _ in range(MAX_TRIES):
            typed, _ = await self.call.ask(
                self.t("ask_protocol"), MAX_PROTOCOL_DIGITS, DIGITS_TIMEOUT_S * 2
            )
            if not scheme.looks_valid(typed):
                self.step("status", result="invalid" if typed else "no_input")
                await self.call.play(self.t("invalid_protocol" if typed else "no_option"))
                continue
            ticket = await self.db(self.services.tickets.find_for_person, typed, person.code)
            if ticket is None:
                self.step("status", result="not_found")
                await self.call.play(self.t("ticket_not_found"))
                continue
            self.step("status", result="found")
            answer = await self.waiting(self.services.helpdesk.status(ticket))
            await self.call.play(self.describe(ticket, answer))
            await self.survey()
            raise CallEnded(Outcome.STATUS_GIVEN)
        raise CallEnded(Outcome.NO_INPUT)

    async def verified_person(self) -> PersonView:
        """The caller, proven by a one-time code as ``ATENDE_OTP`` says, as for a new ticket.

        A status tells what someone's tickets are about, and protocol numbers are easy to guess,
        so until the one-time code is verified an unknown registration code hears exactly what a
        known one does ("code sent, type it", then "wrong code"): which codes exist stays secret.
        """
        policy = self.deps.settings.otp
        caller = await self.identify(hide_unknown=needs_code(policy, identified_by_extension=False))
        if needs_code(policy, caller.by_extension):
            await self.verify_code(caller)
        assert caller.person is not None  # an unknown caller never passes verify_code
        return caller.person

    def describe(self, ticket: Ticket, answer: StatusAnswer) -> str:
        opened = date_for_speech(ticket.created_at.astimezone(self.services.runtime.zone).date())
        if not answer.readable:  # osTicket: its API cannot tell a ticket's status
            return self.t(
                "ticket_status_unreadable",
                item=ticket.item.name,
                date=opened,
                number=answer.external_number,
            )
        return self.t(
            "ticket_status",
            item=ticket.item.name,
            date=opened,
            status=self.t(f"status_{answer.status.value}"),
        )

    # -- 3 or 0: a technician -------------------------------------------------------------

    async def attendant(self) -> Outcome:
        hours = await self.db(self.deps.hours)
        if hours.is_open(self.services.runtime.clock()):
            if self.protocol is None:
                protocol = await self.db(
                    self.services.protocols.issue,
                    channel="phone",
                    call_id=self.call_id,
                    reason="transferência para atendente",
                )
                self.protocol = protocol.number
            await self.call.play(self.t("transferring"))
            context, extension, priority = self.deps.settings.attendant_destination
            await self.call.hand_over(
                Destination(context, extension, priority),
                {"ATENDE_PROTOCOL": self.protocol, "ATENDE_CALL_ID": str(self.call_id)},
            )
            self.step("transferred")
            raise CallEnded(Outcome.TRANSFERRED, goodbye=False)
        self.step("out_of_hours")
        offer = f"{self.t('out_of_hours', hours=hours.describe())} {self.t('out_of_hours_offer')}"
        key = await self.call.play(offer, "1") or await self.call.wait_key(KEY_TIMEOUT_S)
        if key == "1":
            self.step("out_of_hours", key="1")
            return await self.open_ticket()
        raise CallEnded(Outcome.OUT_OF_HOURS)

    # -- satisfaction survey (seed 000, 3.6/3.7) ----------------------------------------------

    async def survey(self) -> None:
        if not self.deps.settings.survey:
            return
        key = await self.call.play(self.t("survey"), "12345") or await self.call.wait_key(
            KEY_TIMEOUT_S
        )
        if key and key in "12345":
            await self.db(self.services.calls.survey, self.call_id, int(key))
            self.step("survey", score=int(key))
            await self.call.play(self.t("survey_thanks"))
        else:
            self.step("survey", result="no_answer")
