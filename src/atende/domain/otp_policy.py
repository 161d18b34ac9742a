"""The rules of one-time codes, after NIST SP 800-63B (out-of-band authenticators).

A caller who says who they are (caller id, registration code) proves it by typing a code sent
to their phone. The numbers here are the policy: 6 random digits from :mod:`secrets`, alive
5 minutes, dead after 3 wrong entries, at most 5 sent per person per hour (so a guesser gets at
most 15 tries an hour out of a million values). The storage and counting live in
``atende.services.otp``; this module is pure so the rules can be read and tested in one place.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Literal

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
MAX_WRONG_ENTRIES = 3
MAX_SENDS = 5
SEND_WINDOW = timedelta(hours=1)

OtpPolicy = Literal["always", "untrusted", "never"]


def generate_code() -> str:
    """A fresh code, zero-padded: every one of the 10**6 values is equally likely."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(key: bytes, person_id: int, code: str) -> str:
    """The value stored for ``code``: HMAC-SHA256 keyed with the server secret, in hex.

    A plain SHA-256 would be no protection: a 6-digit code has only a million values, so
    whoever reads the table hashes them all in a second. With a secret key that is not in the
    database, a stolen table alone reveals nothing. The person id is in the message so that
    two people who happen to get the same code do not get the same stored value.
    """
    return hmac.new(key, f"{person_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(key: bytes, person_id: int, code: str, stored_hash: str) -> bool:
    """Whether ``code`` is the one stored, compared in constant time (no timing oracle)."""
    return hmac.compare_digest(hash_code(key, person_id, code), stored_hash)


def needs_code(policy: OtpPolicy, identified_by_extension: bool) -> bool:
    """Whether a caller must type a one-time code before being served as the person found.

    ``untrusted`` waives it only for a call from the person's own PBX extension, which the PBX
    itself authenticates. A caller id from outside (a mobile number that matches the record)
    never waives it: caller id is set by the calling side and is easily forged.
    """
    if policy == "always":
        return True
    if policy == "never":
        return False
    if policy == "untrusted":
        return not identified_by_extension
    raise ValueError(f"ATENDE_OTP: unknown policy {policy!r} (use always, untrusted or never)")
