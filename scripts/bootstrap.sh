# Sourced by scripts/run and scripts/test: makes this checkout runnable on a fresh Debian/Ubuntu
# machine. Installs the system packages atende uses (espeak-ng, sox) when missing, creates .venv
# and installs the package with its test tools; later runs skip what is already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

source "$ROOT/scripts/apt.sh"

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "atende: needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.x)" >&2
  exit 1
fi

SYSTEM_PACKAGES=(espeak-ng sox ${EXTRA_SYSTEM_PACKAGES:-})
apt_install "${SYSTEM_PACKAGES[@]}"

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi

STAMP=.venv/.atende-installed
WANT="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "atende: installing Python dependencies into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,bench]"
  echo "$WANT" > "$STAMP"
fi
