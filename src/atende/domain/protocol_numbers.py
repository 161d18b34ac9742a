"""Protocol number formats: how a sequence value becomes the number a caller writes down.

Two layouts, chosen by ``ATENDE_PROTOCOL_FORMAT``:

* ``ans``: the operator's 6-digit ANS registration, the date ``YYYYMMDD`` and a 6-digit daily
  sequence, 20 digits in all (the layout health-plan operators use under ANS RN 395/RN 623).
* ``helpdesk``: the year and a yearly sequence (``2026000042``), short enough to type on a
  keypad, followed by one Luhn check digit when ``ATENDE_PROTOCOL_CHECK_DIGIT`` is on, so that a
  mistyped number is rejected before any lookup.

The sequence itself comes from the database (see ``atende.db.sequences``); this module only
formats and validates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from atende.domain.digits import is_digits

ProtocolFormat = Literal["ans", "helpdesk"]

HELPDESK_SEQUENCE_DIGITS = 6
ANS_SEQUENCE_DIGITS = 6


def luhn_check_digit(digits: str) -> str:
    """The Luhn digit that makes ``digits + check`` pass the Luhn test."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return len(number) > 1 and is_digits(number) and luhn_check_digit(number[:-1]) == number[-1]


@dataclass(frozen=True)
class ProtocolScheme:
    """One configured layout: turns (day, sequence) into a number and checks typed numbers."""

    format: ProtocolFormat = "helpdesk"
    ans_registration: str = "000000"
    check_digit: bool = True

    def sequence_scope(self, day: date) -> str:
        """The name of the database counter this day's numbers come from."""
        if self.format == "ans":
            return f"ans:{day:%Y%m%d}"
        return f"helpdesk:{day:%Y}"

    def format_number(self, day: date, sequence: int) -> str:
        if self.format == "ans":
            if sequence >= 10**ANS_SEQUENCE_DIGITS:
                raise OverflowError("the ANS daily sequence has only 6 digits")
            return f"{self.ans_registration}{day:%Y%m%d}{sequence:0{ANS_SEQUENCE_DIGITS}d}"
        body = f"{day:%Y}{sequence:0{HELPDESK_SEQUENCE_DIGITS}d}"
        return body + luhn_check_digit(body) if self.check_digit else body

    def looks_valid(self, number: str) -> bool:
        """True when ``number`` could be one of ours: right digits, length and check digit.

        A false answer needs no database lookup; a true one still may not exist.
        """
        if not is_digits(number):
            return False
        if self.format == "ans":
            return len(number) == 20
        minimum = 4 + HELPDESK_SEQUENCE_DIGITS + (1 if self.check_digit else 0)
        if len(number) < minimum:
            return False
        return luhn_valid(number) if self.check_digit else True
