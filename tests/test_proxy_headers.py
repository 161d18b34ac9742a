"""Token IP allow-lists behind a reverse proxy: the client address comes from X-Forwarded-For
only when the proxy that sent it is listed in ``ATENDE_TRUSTED_PROXIES``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from atende.config import SettingsError, load_settings
from cli_runner import run_atende, running_atende

OFFICE = "10.9.0.0/16"


def office_token(data_dir: Path) -> str:
    created = run_atende(
        "token", "create", "--name", "office", "--scope", "read", "--allow", OFFICE,
        ATENDE_DATA_DIR=str(data_dir),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return created.stdout.strip().splitlines()[-1]


def catalog_status(url: str, token: str, forwarded_for: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return httpx.get(f"{url}/api/v1/catalog", headers=headers).status_code


def test_a_trusted_proxy_passes_on_the_office_address(tmp_path: Path) -> None:
    with running_atende(tmp_path, ATENDE_TRUSTED_PROXIES="127.0.0.1") as (url, _):
        token = office_token(tmp_path)
        assert catalog_status(url, token, "10.9.4.20") == 200
        assert catalog_status(url, token, "198.51.100.7") == 403
        assert catalog_status(url, token, None) == 403  # the proxy's own address is not allowed


def test_no_proxy_is_trusted_unless_configured(tmp_path: Path) -> None:
    # A local process (here: the test, on 127.0.0.1) cannot claim an allow-listed address.
    with running_atende(tmp_path) as (url, _):
        token = office_token(tmp_path)
        assert catalog_status(url, token, "10.9.4.20") == 403


def test_forwarded_for_from_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    with running_atende(tmp_path, ATENDE_TRUSTED_PROXIES="192.0.2.1") as (url, _):
        token = office_token(tmp_path)
        assert catalog_status(url, token, "10.9.4.20") == 403


def test_a_wrong_proxy_address_stops_startup_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATENDE_TRUSTED_PROXIES", "10.0.0.300")
    with pytest.raises(SettingsError, match="ATENDE_TRUSTED_PROXIES"):
        load_settings()
