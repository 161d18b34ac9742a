"""Only the ASCII digits a keypad sends count as digits: "²", "٣" or "७" pass ``str.isdigit()``
but are refused (or dropped) by every check of typed and configured numbers."""

from __future__ import annotations

import pytest

from atende.domain.business_hours import parse_hours
from atende.domain.identity import InvalidIdentifier, normalize_cpf
from atende.domain.protocol_numbers import ProtocolScheme, luhn_valid
from atende.speech.numbers import digit_groups
from atende.web.queries import parse_id


@pytest.mark.parametrize("number", ["20260²000011", "2026000001²", "1" * 19 + "²"])
def test_protocol_numbers_with_other_digits_are_not_valid(number: str) -> None:
    assert not ProtocolScheme("helpdesk").looks_valid(number)
    assert not ProtocolScheme("ans").looks_valid(number)
    assert not luhn_valid(number)


def test_a_cpf_keeps_only_ascii_digits() -> None:
    assert normalize_cpf("529.982.247-25") == "52998224725"
    with pytest.raises(InvalidIdentifier):
        normalize_cpf("529.982.247-2٥")


def test_other_digits_are_no_id_nor_spoken_digits() -> None:
    assert parse_id("٣") is None and parse_id("12") == 12
    with pytest.raises(ValueError, match="only digits"):
        digit_groups("12٣4")


def test_hours_need_ascii_digits() -> None:
    with pytest.raises(ValueError, match="bad time"):
        parse_hours("mon-fri ٠8:00-18:00")
