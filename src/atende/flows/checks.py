"""The checks a typed number passes before any lookup (``check:`` of collect and identify).

A mistyped CPF, card or protocol number is told apart at once by its check digits, so the
caller hears "inválido" and types again, and no directory or helpdesk is asked in vain.
"""

from __future__ import annotations

from collections.abc import Callable

from atende.domain.identity import InvalidIdentifier, normalize_cpf
from atende.domain.protocol_numbers import luhn_valid
from atende.flows.nodes import Check
from atende.flows.ports import EngineSettings


def cpf_valid(digits: str) -> bool:
    try:
        normalize_cpf(digits)
    except InvalidIdentifier:
        return False
    return True


def checker(check: Check | None, settings: EngineSettings) -> Callable[[str], bool]:
    """The test for ``check``: the card's is Luhn unless ``card_check`` says none."""
    if check == "cpf":
        return cpf_valid
    if check == "luhn" or (check == "card" and settings.card_check == "luhn"):
        return luhn_valid
    if check == "protocol":
        return settings.protocol_scheme.looks_valid
    return str.isdigit
