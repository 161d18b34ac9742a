"""The node types of a flow document: each one's settings and its named exits.

A node is one step of a call (say something, offer a menu, identify the caller, transfer...).
Its exits are fields naming other nodes; every node lists them the same way, ``exits()``, as
``{field path: node id}`` (``options.1``, ``next``, ``no_input``), so validation, the tree
rendering and the diagram (issue 13) walk any node without knowing its type.

A failure exit left empty ends the call the way seed 000's URA always did: the node's failure
text, then goodbye. Defaults are that URA's behaviour and texts (``atende.texts``), so a file
states only what differs. What every node may count on without saying it (0 reaches a person
from menus, keys typed ahead reach the next menu, the protocol message queued when the
protocol is issued) is the engine's job, not a setting.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from atende.flows.fields import (
    PERSON_FIELDS,
    PROTOCOL_FIELDS,
    SERVICE_FIELDS,
    TICKET_FIELDS,
    VARIABLE_PATTERN,
)
from atende.flows.prompts import Prompt, TextKey


class _Marker:
    """Tags a field in its ``Annotated`` metadata, so a node's fields can be found by role."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __repr__(self) -> str:
        return f"<{self.role}>"


EXIT = _Marker("exit")  # names another node
PROMPT = _Marker("prompt")  # something the caller hears
TEMPLATE = _Marker("template")  # a text with fields that is not heard (a variable, a reason)

ATTENDANT_KEY = "0"  # the engine's: in every menu it reaches a person


def _key_from_yaml(value: object) -> object:
    """YAML reads an unquoted ``1:`` as the number 1; a keypad key is the text ``"1"``."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Key = Annotated[
    str,
    BeforeValidator(_key_from_yaml),
    Field(pattern=r"^[0-9*#]$", description="A keypad key: 0-9, * or #"),
]
Exit = Annotated[str, EXIT, Field(description="The id of the node to go to")]
OptionalExit = Annotated[str | None, EXIT, Field(description="The id of a node, or null")]
Spoken = Annotated[Prompt, PROMPT]
OptionalSpoken = Annotated[Prompt | None, PROMPT]
Variable = Annotated[str, Field(pattern=VARIABLE_PATTERN)]
Check = Literal["cpf", "luhn", "protocol", "card"]
SettingFlag = Literal["protocol_at_start", "survey"]
Outcome = Literal[  # values of atende.services.calls.Outcome a flow may end with
    "ticket_opened", "status_given", "out_of_hours", "declined", "no_input", "failed"
]


def key(name: str) -> TextKey:
    """A default prompt: the text ``name`` of ``atende.texts``."""
    return TextKey(key=name)


class Node(BaseModel):
    """What every node has: its exits, prompts and templates, found by their markers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str  # each node type narrows it to its name, the tag of the union

    # Exits (first path segment) taken only after the caller pressed something: a cycle made
    # only of other exits can spin without the caller doing anything.
    INPUT_EXITS: ClassVar[frozenset[str]] = frozenset()
    # Asks the caller for personal data (Decreto 11.034: never on the way to a person).
    ASKS_FOR_DATA: ClassVar[bool] = False
    # A menu: 0 goes to the flow's attendant node, so 0 is no option of its own.
    OFFERS_ATTENDANT: ClassVar[bool] = False
    # Flow fields the node needs some earlier node to have provided.
    REQUIRES: ClassVar[frozenset[str]] = frozenset()
    # Flow fields known after the node.
    PROVIDES: ClassVar[frozenset[str]] = frozenset()

    def _marked(self, marker: _Marker) -> dict[str, object]:
        """The non-empty fields tagged ``marker``, a dict field flattened to ``name.key``."""
        found: dict[str, object] = {}
        for name, info in type(self).model_fields.items():
            if marker not in info.metadata:
                continue
            value = getattr(self, name)
            if isinstance(value, dict):
                found.update({f"{name}.{k}": v for k, v in value.items()})
            elif value is not None:
                found[name] = value
        return found

    def exits(self) -> dict[str, str]:
        """``{field path: node id}`` for every exit that names a node."""
        return {path: str(target) for path, target in self._marked(EXIT).items()}

    def prompts(self) -> dict[str, Prompt]:
        """``{field path: prompt}`` for everything this node may say."""
        return self._marked(PROMPT)  # type: ignore[return-value]

    def templates(self) -> dict[str, str]:
        """``{field path: text}`` for the texts with fields that are not spoken."""
        return {path: str(text) for path, text in self._marked(TEMPLATE).items()}

    def keys(self) -> dict[str, str]:
        """``{field path: keypad key}`` for the keys this node listens for."""
        return {}

    def input_exits(self) -> set[str]:
        """The exits taken only after the caller pressed a key."""
        return {path for path in self.exits() if path.split(".", 1)[0] in self.INPUT_EXITS}

    def asks_for_data(self) -> bool:
        return self.ASKS_FOR_DATA

    def provides(self) -> frozenset[str]:
        return self.PROVIDES


class Step(Node):
    """A node that goes on to one next node when it is done."""

    next: Exit
    only_if: SettingFlag | None = Field(
        None, description="Run only when this ATENDE_ setting is on; otherwise go to next"
    )


class DigitEntry(BaseModel):
    """The settings of a node that collects digits on the keypad (Asterisk GET DATA)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_digits: int = Field(1, ge=1, le=32)
    max_digits: int = Field(16, ge=1, le=32)
    end_key: Literal["#"] | None = Field("#", description="Ends the digits early (and is eaten)")
    timeout_s: float = Field(8.0, gt=0, le=60)
    tries: int = Field(3, ge=1, le=9)
    no_input_prompt: OptionalSpoken = key("no_option")

    @model_validator(mode="after")
    def _min_below_max(self) -> DigitEntry:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is more than max_digits")
        return self


class _Speaks(Step):
    prompt: Spoken


class Say(_Speaks):
    """Say a text or play a recording, then go on (keys pressed meanwhile reach the next menu)."""

    type: Literal["say"]


class Info(_Speaks):
    """An information aside (opening hours, tutorials), then back to where the caller was."""

    type: Literal["info"]


class Menu(Node):
    """Keys to exits. A wrong or missing key says so and asks again, ``tries`` times in all."""

    type: Literal["menu"]
    prompt: Spoken
    options: Annotated[dict[Key, str], EXIT] = Field(min_length=1)
    repeat_key: Key | None = Field(None, description="Replays the prompt; not a wrong answer")
    tries: int = Field(3, ge=1, le=9)
    timeout_s: float = Field(5.0, gt=0, le=60)
    invalid_prompt: OptionalSpoken = key("invalid_option")
    no_input_prompt: OptionalSpoken = key("no_option")
    invalid: OptionalExit = Field(None, description="After the last try, a wrong key")
    no_input: OptionalExit = Field(None, description="After the last try, no key")

    INPUT_EXITS = frozenset({"options", "invalid"})
    OFFERS_ATTENDANT = True

    def keys(self) -> dict[str, str]:
        found = {f"options.{k}": k for k in self.options}
        if self.repeat_key is not None:
            found["repeat_key"] = self.repeat_key
        return found


class Collect(DigitEntry, Step):
    """Digits typed by the caller, checked, kept in a flow variable (``{store_as}``)."""

    type: Literal["collect"]
    prompt: Spoken
    store_as: Variable
    check: Check | None = Field(None, description="Rejects a mistyped number before any use")
    invalid_prompt: OptionalSpoken = None
    failure: OptionalExit = None

    INPUT_EXITS = frozenset({"next"})
    ASKS_FOR_DATA = True

    def provides(self) -> frozenset[str]:
        return frozenset({self.store_as})


class Hours(Node):
    """Branch on the business hours and holidays the dashboard edits."""

    type: Literal["hours"]
    open: Exit
    closed: Exit
    holiday: OptionalExit = Field(None, description="A holiday; null: as closed")


IdentifyBy = Literal["extension", "caller_phone", "code", "cpf", "card"]
AUTOMATIC_METHODS = frozenset({"extension", "caller_phone"})  # from the caller id, no asking


class Identify(DigitEntry, Step):
    """Find the caller through the directory port, trying ``by`` in order.

    ``extension`` and ``caller_phone`` use the caller id; at most one typed method (``code``,
    ``cpf``, ``card``) may follow, asked ``tries`` times. ``check`` rejects a mistyped number
    (``invalid_prompt``) before any lookup.
    """

    type: Literal["identify"]
    by: list[IdentifyBy] = Field(min_length=1)
    ask_prompt: OptionalSpoken = key("ask_code")
    unknown_prompt: OptionalSpoken = key("unknown_code")
    invalid_prompt: OptionalSpoken = None
    give_up_prompt: OptionalSpoken = key("too_many_tries")
    check: Check | None = None
    reveal_unknown: bool = Field(
        True,
        description="false: a typed code nobody has goes on to next as an unknown caller, "
        "heard exactly as a known one until the verify_code node there fails it (issue 10)",
    )
    not_found: OptionalExit = None

    PROVIDES = PERSON_FIELDS

    @model_validator(mode="after")
    def _one_typed_method_last(self) -> Identify:
        typed = [method for method in self.by if method not in AUTOMATIC_METHODS]
        if len(typed) > 1 or (typed and self.by[-1] != typed[0]):
            raise ValueError("at most one typed method (code, cpf, card), and it comes last")
        if len(set(self.by)) != len(self.by):
            raise ValueError("a method is listed twice")
        return self

    def asks_for_data(self) -> bool:
        return not AUTOMATIC_METHODS.issuperset(self.by)

    def input_exits(self) -> set[str]:
        # Found by caller id, ``next`` needs no key; found by a typed code, it does.
        return {"next"} if self.by[0] not in AUTOMATIC_METHODS else set()


class VerifyCode(Step):
    """Send a one-time code to the person's phone and have them type it (NIST SP 800-63B)."""

    type: Literal["verify_code"]
    policy: Literal["settings", "always", "untrusted", "never"] = Field(
        "settings", description="settings: ATENDE_OTP; untrusted: not for their own extension"
    )
    ask_prompt: Spoken = [key("otp_sent"), key("ask_otp")]
    again_prompt: Spoken = key("ask_otp")
    wrong_prompt: Spoken = key("wrong_otp")
    unavailable_prompt: Spoken = key("otp_unavailable")
    no_phone_prompt: Spoken = key("no_phone")
    timeout_s: float = Field(16.0, gt=0, le=60)
    failure: OptionalExit = None

    INPUT_EXITS = frozenset({"next"})
    ASKS_FOR_DATA = True
    REQUIRES = PERSON_FIELDS


class ConfirmPerson(Step):
    """Asks "Você é Fulano?": ``yes_key`` goes on (``next``), ``no_key`` to ``declined``.

    (Not an exit named ``no``: YAML 1.1 reads an unquoted ``no:`` as the boolean false.)
    """

    type: Literal["confirm_person"]
    prompt: Spoken = key("confirm_name")
    yes_key: Key = "1"
    no_key: Key = "2"
    tries: int = Field(3, ge=1, le=9)
    declined: OptionalExit = Field(None, description='null: "not_you", goodbye, declined')

    INPUT_EXITS = frozenset({"next", "declined"})
    OFFERS_ATTENDANT = True
    REQUIRES = PERSON_FIELDS

    def keys(self) -> dict[str, str]:
        return {"yes_key": self.yes_key, "no_key": self.no_key}


class ChooseService(Step):
    """A category, then an item, from the catalog the dashboard edits (or one branch of it)."""

    type: Literal["choose_service"]
    branch: str | None = Field(None, description="A category's key; null: the whole catalog")
    category_prompt: Spoken = key("category_menu_intro")
    item_prompt: Spoken = key("item_menu_intro")
    category_repeat_key: Key = "7"
    item_repeat_key: Key = "9"
    tries: int = Field(3, ge=1, le=9)
    failure: OptionalExit = None

    INPUT_EXITS = frozenset({"next"})
    OFFERS_ATTENDANT = True
    PROVIDES = SERVICE_FIELDS

    def keys(self) -> dict[str, str]:
        return {
            "category_repeat_key": self.category_repeat_key,
            "item_repeat_key": self.item_repeat_key,
        }


class OpenTicket(Step):
    """Open a ticket for the person and the chosen item; the message is queued at once."""

    type: Literal["open_ticket"]
    description: Annotated[str, TEMPLATE] = "Aberto pela URA"
    message: OptionalSpoken = Field(key("protocol_message"), description="null: no message")
    failure: OptionalExit = None

    REQUIRES = PERSON_FIELDS | SERVICE_FIELDS
    PROVIDES = TICKET_FIELDS


class IssueProtocol(Step):
    """Give the call an attendance protocol, for the person identified so far, if any."""

    type: Literal["issue_protocol"]
    reason: Annotated[str | None, TEMPLATE] = None
    existing: Literal["keep", "link", "new"] = Field(
        "keep",
        description="When the call has a protocol: keep it, link it to the person and reason "
        "known now, or issue a new one",
    )
    message: OptionalSpoken = Field(
        None, description="Sent to the person's phone or e-mail when the protocol is theirs"
    )

    PROVIDES = PROTOCOL_FIELDS


class ReadProtocol(Step):
    """Read the call's protocol digit by digit; the repeat key reads it again."""

    type: Literal["read_protocol"]
    prompt: Spoken = key("ticket_opened")
    repeat_prompt: OptionalSpoken = key("repeat_protocol")
    repeat_key: Key | None = "1"
    repeats: int = Field(3, ge=0, le=9)
    timeout_s: float = Field(5.0, gt=0, le=60)

    REQUIRES = PROTOCOL_FIELDS

    def keys(self) -> dict[str, str]:
        return {"repeat_key": self.repeat_key} if self.repeat_key else {}


class TicketStatus(DigitEntry, Step):
    """Ask a protocol number and say the status of that ticket, if it is the caller's."""

    type: Literal["ticket_status"]
    max_digits: int = Field(24, ge=1, le=32)
    timeout_s: float = Field(16.0, gt=0, le=60)
    ask_prompt: Spoken = key("ask_protocol")
    invalid_prompt: Spoken = key("invalid_protocol")
    not_found_prompt: Spoken = key("ticket_not_found")
    failure: OptionalExit = None

    INPUT_EXITS = frozenset({"next"})
    ASKS_FOR_DATA = True
    REQUIRES = PERSON_FIELDS


class RecordMessage(Step):
    """The caller speaks after a tone; the recording goes with the call's ticket or protocol."""

    type: Literal["record_message"]
    prompt: Spoken
    max_seconds: int = Field(120, ge=1, le=600)
    silence_seconds: int | None = Field(5, ge=1, le=60, description="Silence that ends it")
    beep: bool = True
    end_key: Key | None = "#"


class Survey(Step):
    """A satisfaction score from 1 to ``max_score`` (seed 000, Tabela 2)."""

    type: Literal["survey"]
    prompt: Spoken = key("survey")
    thanks_prompt: OptionalSpoken = key("survey_thanks")
    max_score: int = Field(5, ge=2, le=9)
    timeout_s: float = Field(5.0, gt=0, le=60)

    def keys(self) -> dict[str, str]:
        return {f"score.{n}": str(n) for n in range(1, self.max_score + 1)}


class Set(Step):
    """Set flow variables (``{reason}``...) from texts with fields."""

    type: Literal["set"]
    variables: Annotated[dict[Variable, str], TEMPLATE] = Field(min_length=1)

    def provides(self) -> frozenset[str]:
        return frozenset(self.variables)


class Goto(Node):
    """Continue at another node."""

    type: Literal["goto"]
    target: Exit


class HangUp(Node):
    """Say goodbye and end the call with an outcome for the reports."""

    type: Literal["hang_up"]
    prompt: OptionalSpoken = key("goodbye")
    outcome: Outcome


class Destination(BaseModel):
    """A place in the Asterisk dialplan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    context: str = Field(min_length=1)
    extension: str = Field(min_length=1)
    priority: str = Field("1", min_length=1)


class Transfer(Node):
    """Hand the call to the dialplan (a queue, an attendant), with channel variables."""

    type: Literal["transfer"]
    prompt: OptionalSpoken = key("transferring")
    destination: Destination | Literal["settings"] = Field(
        "settings", description="settings: ATENDE_ATTENDANT_DEST"
    )
    variables: Annotated[
        dict[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")], str], TEMPLATE
    ] = Field(
        default_factory=lambda: {"ATENDE_PROTOCOL": "{protocol}", "ATENDE_CALL_ID": "{call.id}"},
        description="Channel variables for the attendant's screen, texts with fields",
    )


AnyNode = Annotated[
    Say
    | Info
    | Menu
    | Collect
    | Hours
    | Identify
    | VerifyCode
    | ConfirmPerson
    | ChooseService
    | OpenTicket
    | IssueProtocol
    | ReadProtocol
    | TicketStatus
    | RecordMessage
    | Transfer
    | Survey
    | Set
    | Goto
    | HangUp,
    Field(discriminator="type"),
]
