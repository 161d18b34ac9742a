"""The server secret: the key one-time codes (and other server-side MACs) are hashed with.

It must be the same for every process that shares a database, or a code issued by one
FastAGI process could not be checked by another. By default it lives in
``$ATENDE_DATA_DIR/secret.key``, created on first use (mode 0600) and never in the database,
so a copy of the database alone does not let anyone reverse the stored code hashes. Hosts that
share a database but not a data directory set ``ATENDE_SECRET_KEY`` to the same value (the
content of one host's ``secret.key`` will do).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from atende.private_paths import private_directory

SECRET_FILE = "secret.key"
MIN_LENGTH = 32
_HINT = "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"


def _checked(value: str, source: str) -> bytes:
    value = value.strip()
    if len(value) < MIN_LENGTH:
        raise ValueError(f"{source}: secret too short, at least {MIN_LENGTH} characters; {_HINT}")
    return value.encode()


def server_secret(data_dir: Path | str) -> bytes:
    """``ATENDE_SECRET_KEY`` if set, else the data directory's key file, created if missing."""
    from_env = os.environ.get("ATENDE_SECRET_KEY")
    if from_env:
        return _checked(from_env, "ATENDE_SECRET_KEY")
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        _create(path)
    return _checked(path.read_text(encoding="ascii"), str(path))


def _create(path: Path) -> None:
    # Written to a private temporary file, then linked into place: a process starting at the
    # same moment either wins the link or reads the complete key of the one that did, never a
    # half-written file. The key is 32 random bytes, kept as hex so it can be copied into
    # ATENDE_SECRET_KEY for another host.
    private_directory(path.parent)
    temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
