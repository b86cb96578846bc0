"""The console's signing-in rules, pure: password hashes, the operators' list, CSRF tokens, the failed-login
bucket, session expiry, and where a login may send the browser next."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from payments_console.auth.domain import (
    Bucket,
    ConfigError,
    PasswordHash,
    SessionTimes,
    Throttle,
    check_password,
    csrf_matches,
    hash_password,
    new_token,
    parse_operators,
    session_key,
)
from payments_console.auth.http import safe_next


def test_a_hash_verifies_its_password_and_no_other() -> None:
    hashed = PasswordHash.parse(hash_password("correct horse battery"))
    assert hashed.scheme == "scrypt"
    assert hashed.verify("correct horse battery")
    assert not hashed.verify("correct horse batterY")
    assert not hashed.verify("")


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_a_hash_sits_in_an_env_file_as_it_is() -> None:
    text = hash_password("x" * 20)
    assert not set(text) & set("$:, \"'\n")
    assert text.startswith("scrypt.16384.8.1.")


def test_pbkdf2_hashes_are_accepted_too() -> None:
    salt = b"0123456789abcdef"
    key = hashlib.pbkdf2_hmac("sha256", b"pw-of-someone", salt, 200_000)
    import base64

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    hashed = PasswordHash.parse(f"pbkdf2-sha256.200000.{b64(salt)}.{b64(key)}")
    assert hashed.verify("pw-of-someone")
    assert not hashed.verify("pw-of-another")


@pytest.mark.parametrize(
    "text",
    ["", "plain", "scrypt.16384.8.1.abc", "scrypt.1000.8.1.YWJj.YWJj", "scrypt.1048576.8.1.YWJj.YWJj",
     "pbkdf2-sha256.1000.YWJj.YWJj", "md5.YWJj"],
)  # fmt: skip
def test_what_is_not_a_hash_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        PasswordHash.parse(text)


def test_operators_are_parsed_and_errors_name_the_entry_never_the_hash() -> None:
    one, two = hash_password("first password"), hash_password("second password")
    operators = parse_operators(f"alice:{one}, bob:{two},")
    assert set(operators) == {"alice", "bob"}
    with pytest.raises(ConfigError) as caught:
        parse_operators(f"alice:{one},bob:not-a-hash")
    assert "entry 2" in str(caught.value) and "not-a-hash" not in str(caught.value)
    for bad in ("", "alice", f"alice:{one},alice:{two}", f"a b:{one}"):
        with pytest.raises(ConfigError):
            parse_operators(bad)


def test_check_password_refuses_unknown_names_and_long_passwords() -> None:
    operators = parse_operators(f"alice:{hash_password('alice password')}")
    assert check_password(operators, "alice", "alice password")
    assert not check_password(operators, "alice", "bob password")
    assert not check_password(operators, "mallory", "alice password")
    assert not check_password(operators, "alice", "x" * 2000)


def test_csrf_tokens_match_only_themselves() -> None:
    token = new_token()
    assert len(token) >= 40
    assert csrf_matches(token, token)
    assert not csrf_matches(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not csrf_matches(token, None)
    assert not csrf_matches(token, "")
    assert not csrf_matches("", "")


def test_the_session_table_keeps_a_digest_of_the_token() -> None:
    token = new_token()
    assert session_key(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in session_key(token)


def test_a_session_ends_at_its_expiry_or_after_being_idle() -> None:
    times = SessionTimes(ttl=timedelta(hours=8), idle=timedelta(minutes=30))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    expires = times.expires_at(start)
    assert times.alive(now=start + timedelta(minutes=29), expires_at=expires, last_seen_at=start)
    assert not times.alive(now=start + timedelta(minutes=31), expires_at=expires, last_seen_at=start)
    late = start + timedelta(hours=7, minutes=59)
    assert times.alive(now=late, expires_at=expires, last_seen_at=late)
    assert not times.alive(now=start + timedelta(hours=8), expires_at=expires, last_seen_at=late)


def test_failed_logins_slow_down_and_never_lock_out_for_good() -> None:
    throttle = Throttle(burst=3, refill_seconds=30.0)
    bucket: Bucket | None = None
    for n in range(3):
        assert throttle.retry_after(bucket, 100.0 + n) == 0
        bucket = throttle.after_failure(bucket, 100.0 + n)
    wait = throttle.retry_after(bucket, 103.0)
    assert 0 < wait <= 30.0
    # after the wait one more try is allowed: the bucket refills, nothing stays locked
    assert throttle.retry_after(bucket, 103.0 + wait) == 0
    assert throttle.retry_after(bucket, 103.0 + 3 * 30.0) == 0
    assert throttle.level(bucket, 10_000.0) == 3.0


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/payments?id=pay_1", "/payments?id=pay_1"), ("//evil.example/", "/"), ("https://evil.example", "/"),
     ("/\\evil.example", "/"), ("", "/"), ("/a\nb", "/")],
)  # fmt: skip
def test_a_login_only_sends_the_browser_within_the_console(target: str, expected: str) -> None:
    assert safe_next(target) == expected
