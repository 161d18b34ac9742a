"""How numbers and dates are written so that a pt-BR speech engine says them the way callers
write them down.

espeak-ng reads ``20260000421`` as "vinte bilhões..." and ``2026 0000 421`` as "dois mil e
vinte e seis, zero zero zero zero, quatrocentos e vinte e um": a protocol number must be read
one digit at a time, with a pause between groups long enough to write a group down. Numbers
are therefore joined from ten prerendered digit clips (:func:`digit_parts` and
``AudioCache.compose``), which also spares a synthesis per call.

Dates are handed to every engine in words (num2words), so that espeak-ng, Polly and Piper all
say "vinte e um de novembro de dois mil e vinte e seis" whatever each would make of digits; the
first day of a month is "primeiro", as Brazilians say it.
"""

from __future__ import annotations

from datetime import date

from num2words import num2words

from atende.domain.digits import is_digits
from atende.texts import DEFAULT_LANGUAGE, text


def digit_groups(digits: str, size: int = 4) -> list[str]:
    """``digits`` cut in groups of ``size`` from the left; a last group of one digit joins the
    group before it, so that no digit is heard alone after a pause."""
    if not is_digits(digits):
        raise ValueError("only digits can be read digit by digit")
    if size < 2:
        raise ValueError("a group has at least two digits")
    groups = [digits[start : start + size] for start in range(0, len(digits), size)]
    if len(groups) > 1 and len(groups[-1]) == 1:
        groups[-2:] = [groups[-2] + groups[-1]]
    return groups


def number_words(number: int, language: str = DEFAULT_LANGUAGE, ordinal: bool = False) -> str:
    """``2026`` → ``"dois mil e vinte e seis"`` (num2words knows ``pt_BR`` and many others)."""
    return str(num2words(number, lang=language, to="ordinal" if ordinal else "cardinal"))


def date_for_speech(day: date, with_year: bool = True, language: str = DEFAULT_LANGUAGE) -> str:
    """``date(2026, 11, 21)`` → ``"vinte e um de novembro de dois mil e vinte e seis"``; the
    first of a month is ``"primeiro"``."""
    fields = {
        "day": number_words(day.day, language, ordinal=day.day == 1),
        "month": text(f"month_{day.month}", language),
        "year": number_words(day.year, language),
    }
    return text("spoken_date" if with_year else "spoken_date_no_year", language, **fields)


def digit_parts(digits: str, group_size: int = 4) -> list[str]:
    """``digits`` as parts for :meth:`AudioCache.compose`: one digit each, an empty part (a
    pause) between groups, so any number is read from ten prerendered clips."""
    parts: list[str] = []
    for group in digit_groups(digits, group_size):
        if parts:
            parts.append("")
        parts.extend(group)
    return parts
