"""Protocol number layouts and their check digit (pure rules, no database)."""

from __future__ import annotations

from datetime import date

from atende.domain.protocol_numbers import ProtocolScheme, luhn_valid

DAY = date(2026, 11, 21)


def test_ans_layout_is_registration_date_and_daily_sequence() -> None:
    scheme = ProtocolScheme(format="ans", ans_registration="123456")
    number = scheme.format_number(DAY, 42)
    assert number == "12345620261121000042" and len(number) == 20
    assert scheme.sequence_scope(DAY) != scheme.sequence_scope(date(2026, 11, 22))
    assert scheme.looks_valid(number) and not scheme.looks_valid(number[:-1])


def test_helpdesk_layout_has_a_check_digit_that_catches_typos() -> None:
    scheme = ProtocolScheme(format="helpdesk")
    number = scheme.format_number(DAY, 421)
    assert number.startswith("2026000421") and len(number) == 11 and luhn_valid(number)
    assert scheme.sequence_scope(DAY) == scheme.sequence_scope(date(2026, 1, 1))
    for position in range(len(number)):  # every single wrong digit is caught
        for wrong in "0123456789":
            if wrong != number[position]:
                typo = number[:position] + wrong + number[position + 1 :]
                assert not scheme.looks_valid(typo), typo
    swapped = number[:5] + number[6] + number[5] + number[7:]
    assert number[5] == number[6] or not scheme.looks_valid(swapped)
    assert not scheme.looks_valid("abc") and not scheme.looks_valid("2026")


def test_check_digit_can_be_turned_off() -> None:
    scheme = ProtocolScheme(format="helpdesk", check_digit=False)
    assert scheme.format_number(DAY, 7) == "2026000007"
    assert scheme.looks_valid("2026000008")
