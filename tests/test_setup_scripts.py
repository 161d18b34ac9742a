"""``scripts/run`` and ``scripts/test`` set a machine up: their apt step, with ``apt-get`` stubbed.

The stub stands in for apt-get only (installing real packages in a test is neither safe nor
fast): it records each call, and behaves as apt-get does when another package manager holds the
dpkg lock, failing at once (exit 100) unless it was told to wait with ``DPkg::Lock::Timeout``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
MISSING_PACKAGE = "atende-test-package-that-does-not-exist"

APT_GET_STUB = """#!/bin/sh
echo "$*" >> "$APT_CALLS"
case "$*" in
  *DPkg::Lock::Timeout=*) [ "$LOCK_HELD" = forever ] && exit 100; exit 0 ;;
  *) [ -z "$LOCK_HELD" ] && exit 0
     echo "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2; exit 100 ;;
esac
"""


def apt_install(
    tmp_path: Path, lock_held: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for name, body in (("apt-get", APT_GET_STUB), ("sudo", '#!/bin/sh\nexec "$@"\n')):
        (stubs / name).write_text(body)
        (stubs / name).chmod(0o755)
    calls = tmp_path / "apt-calls"
    calls.unlink(missing_ok=True)
    result = subprocess.run(
        ["bash", "-c", f'source "{SCRIPTS}/apt.sh" && apt_install {MISSING_PACKAGE}'],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{stubs}:{os.environ['PATH']}",
            "APT_CALLS": str(calls),
            "LOCK_HELD": lock_held,
        },
        timeout=60,
    )
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_apt_step_waits_for_another_package_manager_instead_of_failing(tmp_path: Path) -> None:
    result, calls = apt_install(tmp_path, lock_held="briefly")
    assert result.returncode == 0, result.stderr
    assert [call.split()[2] for call in calls] == ["update", "install"]
    for call in calls:
        assert call.startswith("-o DPkg::Lock::Timeout=")
        assert 0 < int(call.split()[1].split("=")[1]) <= 600  # a bounded wait
    assert calls[1].endswith(MISSING_PACKAGE)
    assert "waiting up to" in result.stderr


def test_apt_step_says_what_to_do_when_the_lock_stays_held(tmp_path: Path) -> None:
    result, _ = apt_install(tmp_path, lock_held="forever")
    assert result.returncode != 0
    assert f"could not install {MISSING_PACKAGE}" in result.stderr
    assert "run this again" in result.stderr
