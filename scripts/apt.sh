# Sourced by scripts/bootstrap.sh: installs missing Debian/Ubuntu packages with apt-get.
# Kept apart from the bootstrap so that tests can source these functions alone.
#
# apt-get fails at once when another apt or dpkg holds the package lock (an unattended upgrade on
# a fresh machine, a second terminal); DPkg::Lock::Timeout makes it wait for that lock instead,
# for at most ATENDE_APT_LOCK_TIMEOUT seconds (default 300), for `update` and `install` alike.

APT_LOCK_TIMEOUT="${ATENDE_APT_LOCK_TIMEOUT:-300}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "atende: need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "atende: please install ${missing[*]} with your system's package manager" >&2; return 1
  fi
  echo "atende: installing ${missing[*]} (apt-get; if another package manager is running," \
    "waiting up to ${APT_LOCK_TIMEOUT} s for it to finish)" >&2
  local wait=(-o "DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT}")
  if ! as_root apt-get "${wait[@]}" update -qq ||
    ! as_root env DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "atende: apt-get could not install ${missing[*]} (see its message above; if another" \
      "package manager still holds the lock, wait for it and run this again)" >&2
    return 1
  fi
}
