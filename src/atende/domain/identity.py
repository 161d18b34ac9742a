"""Validation and normalisation of the personal identifiers a caller record holds.

Phones are stored in E.164 so that a caller id from Asterisk, a number typed in the dashboard
("(45) 99999-1234") and one from a CSV all compare equal; ``phonenumbers`` does the parsing.
CPF check digits have no maintained library worth a dependency: the algorithm is ten lines.
"""

from __future__ import annotations

import phonenumbers

from atende.domain.digits import only_digits

DEFAULT_REGION = "BR"


class InvalidIdentifier(ValueError):
    """A phone or CPF that cannot be right; the message says why, in the user's language."""


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """``raw`` as typed by a person (Brazilian formats accepted) to E.164, or InvalidIdentifier."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier("not a phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidIdentifier("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_candidates(caller_id: str, region: str = DEFAULT_REGION) -> list[str]:
    """The E.164 forms a caller id may stand for (empty when it is no phone number)."""
    try:
        return [normalize_phone(caller_id, region)]
    except InvalidIdentifier:
        return []


def _cpf_digit(digits: str) -> str:
    weight = len(digits) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(digits))
    rest = total * 10 % 11
    return "0" if rest == 10 else str(rest)


def normalize_cpf(raw: str) -> str:
    """The 11 digits of a CPF typed with or without punctuation, checked, or InvalidIdentifier."""
    digits = only_digits(raw)
    if len(digits) != 11 or digits == digits[0] * 11:
        raise InvalidIdentifier("a CPF has 11 digits")
    if _cpf_digit(digits[:9]) != digits[9] or _cpf_digit(digits[:10]) != digits[10]:
        raise InvalidIdentifier("CPF check digits do not match")
    return digits


def mask(value: str | None, keep: int = 2) -> str:
    """A value for a log line: only the last ``keep`` characters stay (personal data rule)."""
    if not value:
        return ""
    return "*" * max(len(value) - keep, 0) + value[-keep:]
