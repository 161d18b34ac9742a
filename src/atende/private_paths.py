"""The data directory and the SQLite file are the owner's alone, like the secret and outbox.

The database holds callers' names, phones and card numbers, so it is created readable by its
owner only (0600; SQLite gives its -wal and -shm files the same mode), and a file left
readable by others by an older version is tightened. The data directory is created 0711:
others cannot list it, but may pass through it to the audio directory inside, which a local
Asterisk, running as another user, reads by path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIRECTORY_MODE = 0o711
FILE_MODE = 0o600


def private_directory(path: Path) -> None:
    """Create ``path`` (and its parents) unlistable by others; an existing one is left alone."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIRECTORY_MODE)  # mkdir's mode is cut by the umask


def private_file(path: Path) -> None:
    """Make sure ``path`` exists and only its owner may read or write it."""
    private_directory(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        try:
            os.chmod(path, mode & ~0o077)
        except PermissionError:
            log.warning("%s is readable by other users; make it mode 0600", path)
