"""Digits as a keypad, a form or a file gives them: the ASCII digits 0-9 and nothing else.

Python's ``str.isdigit()`` is also true for "¹", "٣" or "७", which ``int()`` then rejects or
reads as another number; every check of typed or configured digits goes through here instead.
"""

from __future__ import annotations

ASCII_DIGITS = frozenset("0123456789")


def is_digits(value: str) -> bool:
    """True when ``value`` is one or more ASCII digits."""
    return value.isascii() and value.isdigit()


def only_digits(value: str) -> str:
    """The ASCII digits of ``value``, in order (punctuation and anything else dropped)."""
    return "".join(ch for ch in value if ch in ASCII_DIGITS)
