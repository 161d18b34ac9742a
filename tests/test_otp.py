"""One-time codes: the pure policy, the database-backed service and the server secret."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from atende.db.engine import make_engine, make_session_factory
from atende.db.models import Base, OneTimeCode, Person
from atende.domain.otp_policy import code_matches, generate_code, hash_code, needs_code
from atende.services.otp import OneTimeCodes, TooManyCodes, VerifyResult, VerifyStatus
from atende.services.secrets_store import server_secret

KEY = b"k" * 32
T0 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "atende.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{db_path}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def person_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        person = Person(code="1234", name="Maria da Silva", phone="+5545999991234")
        session.add(person)
        session.flush()
        return person.id


@pytest.fixture
def codes(sessions: sessionmaker[Session]) -> OneTimeCodes:
    return OneTimeCodes(sessions, KEY)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# The policy


def test_generated_codes_are_six_digits_and_vary() -> None:
    generated = {generate_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in generated)
    assert len(generated) > 150


def test_hash_is_keyed_and_bound_to_the_person() -> None:
    stored = hash_code(KEY, 7, "123456")
    assert len(stored) == 64
    assert code_matches(KEY, 7, "123456", stored)
    assert not code_matches(KEY, 7, "123457", stored)
    assert not code_matches(b"other" * 8, 7, "123456", stored)
    assert not code_matches(KEY, 8, "123456", stored)


@pytest.mark.parametrize(
    ("policy", "by_extension", "expected"),
    [
        ("always", True, True),
        ("always", False, True),
        ("untrusted", True, False),
        ("untrusted", False, True),  # a matching mobile caller id is not enough
        ("never", False, False),
    ],
)
def test_needs_code(policy: str, by_extension: bool, expected: bool) -> None:
    assert needs_code(policy, by_extension) is expected  # type: ignore[arg-type]


def test_needs_code_rejects_an_unknown_policy() -> None:
    with pytest.raises(ValueError, match="ATENDE_OTP: unknown policy 'sometimes'"):
        needs_code("sometimes", False)  # type: ignore[arg-type]


# The service


def test_issue_returns_six_digits_and_keeps_its_hash(
    codes: OneTimeCodes, sessions: sessionmaker[Session], person_id: int
) -> None:
    code = codes.issue(person_id, now=T0)
    assert len(code) == 6 and code.isdigit()
    with sessions() as session:
        row = session.scalars(select(OneTimeCode)).one()
    assert row.code_hash == hash_code(KEY, person_id, code)
    assert row.expires_at == T0 + timedelta(minutes=5)
    assert row.attempts == 0 and row.used_at is None


def test_the_code_never_reaches_the_database_file(
    codes: OneTimeCodes,
    engine: Engine,
    person_id: int,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A fixed code that appears nowhere else in the file (a random one could match a phone
    # number or a timestamp by chance).
    monkeypatch.setattr("atende.services.otp.generate_code", lambda: "731946")
    assert codes.issue(person_id, now=T0) == "731946"
    engine.dispose()  # the last connection folds the WAL into the main file
    stored = b"".join(p.read_bytes() for p in db_path.parent.glob(f"{db_path.name}*"))
    assert hash_code(KEY, person_id, "731946").encode() in stored
    assert b"731946" not in stored


def test_right_code_verifies_once(codes: OneTimeCodes, person_id: int) -> None:
    code = codes.issue(person_id, now=T0)
    assert codes.verify(person_id, code, now=T0 + timedelta(minutes=1)) == VerifyResult(
        VerifyStatus.OK
    )
    assert codes.verify(person_id, code, now=T0 + timedelta(minutes=2)).status is (
        VerifyStatus.NONE
    )


def test_code_expires_after_five_minutes(codes: OneTimeCodes, person_id: int) -> None:
    code = codes.issue(person_id, now=T0)
    late = codes.verify(person_id, code, now=T0 + timedelta(minutes=5))
    assert late.status is VerifyStatus.EXPIRED
    code = codes.issue(person_id, now=T0 + timedelta(minutes=10))
    just_in_time = T0 + timedelta(minutes=14, seconds=59)
    assert codes.verify(person_id, code, now=just_in_time).ok


def test_three_wrong_entries_lock_the_code(codes: OneTimeCodes, person_id: int) -> None:
    code = codes.issue(person_id, now=T0)
    assert codes.verify(person_id, wrong(code), now=T0) == VerifyResult(VerifyStatus.WRONG, 2)
    assert codes.verify(person_id, "", now=T0) == VerifyResult(VerifyStatus.WRONG, 1)
    assert codes.verify(person_id, wrong(code), now=T0).status is VerifyStatus.LOCKED
    assert codes.verify(person_id, code, now=T0).status is VerifyStatus.LOCKED


def test_wrong_entries_are_shared_between_service_instances(engine: Engine, person_id: int) -> None:
    # Two FastAGI processes: separate session factories over the same database file.
    first = OneTimeCodes(make_session_factory(engine), KEY)
    second = OneTimeCodes(make_session_factory(engine), KEY)
    code = first.issue(person_id, now=T0)
    assert first.verify(person_id, wrong(code), now=T0).attempts_left == 2
    assert second.verify(person_id, wrong(code), now=T0).attempts_left == 1
    assert second.verify(person_id, code, now=T0).ok


def test_no_code_issued(codes: OneTimeCodes, person_id: int) -> None:
    assert codes.verify(person_id, "123456", now=T0).status is VerifyStatus.NONE


def test_a_new_code_kills_the_old_one(codes: OneTimeCodes, person_id: int) -> None:
    old = codes.issue(person_id, now=T0)
    new = codes.issue(person_id, now=T0 + timedelta(seconds=30))
    if old == new:  # one chance in a million: the test would prove nothing
        pytest.skip("the two random codes happen to be equal")
    now = T0 + timedelta(minutes=1)
    assert codes.verify(person_id, old, now=now).status is VerifyStatus.WRONG
    assert codes.verify(person_id, new, now=now).ok


def test_sixth_send_within_an_hour_is_refused(codes: OneTimeCodes, person_id: int) -> None:
    for minute in range(5):
        codes.issue(person_id, now=T0 + timedelta(minutes=minute * 10))
    with pytest.raises(TooManyCodes) as refused:
        codes.issue(person_id, now=T0 + timedelta(minutes=50))
    assert refused.value.retry_at == T0 + timedelta(hours=1)
    assert codes.issue(person_id, now=T0 + timedelta(hours=1, seconds=1))


def test_sends_are_counted_per_person(
    codes: OneTimeCodes, sessions: sessionmaker[Session], person_id: int
) -> None:
    with sessions.begin() as session:
        other = Person(code="5678", name="João")
        session.add(other)
        session.flush()
        other_id = other.id
    for _ in range(5):
        codes.issue(person_id, now=T0)
    assert codes.issue(other_id, now=T0)


def test_purge_keeps_codes_that_still_count_towards_the_limit(
    codes: OneTimeCodes, sessions: sessionmaker[Session], person_id: int
) -> None:
    for minute in range(5):
        codes.issue(person_id, now=T0 + timedelta(minutes=minute))
    assert codes.purge_expired(now=T0 + timedelta(minutes=30)) == 0
    with pytest.raises(TooManyCodes):
        codes.issue(person_id, now=T0 + timedelta(minutes=30))
    # An hour after the first three were sent they no longer count, and can go.
    assert codes.purge_expired(now=T0 + timedelta(hours=1, minutes=2)) == 3
    with sessions() as session:
        assert len(session.scalars(select(OneTimeCode)).all()) == 2


def test_naive_now_is_refused(codes: OneTimeCodes, person_id: int) -> None:
    with pytest.raises(ValueError, match="aware"):
        codes.issue(person_id, now=datetime(2026, 11, 18, 12, 0))


# The server secret


def test_secret_is_created_private_and_then_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATENDE_SECRET_KEY", raising=False)
    data_dir = tmp_path / "var"
    first = server_secret(data_dir)
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(data_dir / "secret.key").st_mode) == 0o600
    assert server_secret(data_dir) == first
    assert server_secret(tmp_path / "elsewhere") != first
    assert sorted(p.name for p in data_dir.iterdir()) == ["secret.key"]


def test_secret_from_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_SECRET_KEY", "s" * 40)
    assert server_secret(tmp_path) == b"s" * 40
    assert not (tmp_path / "secret.key").exists()
    monkeypatch.setenv("ATENDE_SECRET_KEY", "short")
    with pytest.raises(ValueError, match="ATENDE_SECRET_KEY: secret too short"):
        server_secret(tmp_path)


def test_codes_issued_with_one_secret_file_verify_in_another_process(
    engine: Engine, tmp_path: Path, person_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATENDE_SECRET_KEY", raising=False)
    data_dir = tmp_path / "shared"
    issuer = OneTimeCodes(make_session_factory(engine), server_secret(data_dir))
    checker = OneTimeCodes(make_session_factory(engine), server_secret(data_dir))
    assert checker.verify(person_id, issuer.issue(person_id, now=T0), now=T0).ok
