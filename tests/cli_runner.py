"""Run the ``atende`` command in a subprocess, as a person at a shell would."""

from __future__ import annotations

import os
import subprocess
import sys


def run_atende(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atende.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
