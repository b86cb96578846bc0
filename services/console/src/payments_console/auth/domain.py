"""Pure rules of signing in: password hashes, the operators' list, session and CSRF tokens, session expiry
and the failed-login bucket. No I/O; the clock is passed in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from payments_common.config import colon_entries

# scrypt's cost: 16 MiB and about 50 ms a check, per OWASP's minimum (N=2^17 wants 128 MiB per login)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
PBKDF2_MIN_ITERATIONS = 100_000
KEY_BYTES = 32
SALT_BYTES = 16
TOKEN_BYTES = 32
# an operator's name: what a person types, and safe in a log line and the operators' list
MAX_NAME = 64
MAX_PASSWORD = 1024


class ConfigError(ValueError):
    """CONSOLE_OPERATORS is malformed; the message names the entry, never a hash."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt.N.r.p.salt.key`, base64url parts: no `$`, `:` or `,`, so it sits in an env file as it is."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM, dklen=KEY_BYTES
    )
    return f"scrypt.{SCRYPT_N}.{SCRYPT_R}.{SCRYPT_P}.{_b64(salt)}.{_b64(key)}"


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A parsed hash: `scrypt.N.r.p.salt.key` or `pbkdf2-sha256.iterations.salt.key`."""

    scheme: str
    params: tuple[int, ...]
    salt: bytes
    key: bytes

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        parts = text.split(".")
        try:
            if parts[0] == "scrypt" and len(parts) == 6:
                n, r, p = (int(x) for x in parts[1:4])
                if n < 2**10 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or 128 * n * r > SCRYPT_MAXMEM:
                    raise ValueError("scrypt parameters out of range")
                return cls("scrypt", (n, r, p), _unb64(parts[4]), _unb64(parts[5]))
            if parts[0] == "pbkdf2-sha256" and len(parts) == 4:
                iterations = int(parts[1])
                if iterations < PBKDF2_MIN_ITERATIONS:
                    raise ValueError("too few PBKDF2 iterations")
                return cls("pbkdf2-sha256", (iterations,), _unb64(parts[2]), _unb64(parts[3]))
        except (ValueError, IndexError) as exc:
            raise ValueError(f"not a password hash: {exc}") from None
        raise ValueError("not a password hash: scrypt.N.r.p.salt.key or pbkdf2-sha256.iterations.salt.key")

    def derive(self, password: str) -> bytes:
        if self.scheme == "scrypt":
            n, r, p = self.params
            return hashlib.scrypt(
                password.encode(), salt=self.salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=len(self.key)
            )
        return hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.params[0], dklen=len(self.key))

    def verify(self, password: str) -> bool:
        return hmac.compare_digest(self.derive(password), self.key)


# checked against when the name is unknown, so that a wrong name costs what a wrong password does
_DECOY = PasswordHash.parse(hash_password(secrets.token_urlsafe(16)))


def parse_operators(raw: str) -> dict[str, PasswordHash]:
    """CONSOLE_OPERATORS: `name:hash,name:hash`."""
    operators: dict[str, PasswordHash] = {}
    for n, raw_name, sep, hashed in colon_entries(raw):
        name = raw_name.strip()
        if not sep or not valid_name(name):
            raise ConfigError(f"CONSOLE_OPERATORS entry {n} is not name:hash with a name of 1-{MAX_NAME} characters")
        if name in operators:
            raise ConfigError(f"CONSOLE_OPERATORS entry {n} repeats the name {name!r}")
        try:
            operators[name] = PasswordHash.parse(hashed.strip())
        except ValueError:
            raise ConfigError(
                f"CONSOLE_OPERATORS entry {n} ({name}) is not a hash from `payments-console hash-password`"
            ) from None
    if not operators:
        raise ConfigError("CONSOLE_OPERATORS names no operator")
    return operators


def valid_name(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME and name.isprintable() and not any(c in name for c in ":, ")


def check_password(operators: dict[str, PasswordHash], name: str, password: str) -> bool:
    """Whether `name` signs in with `password`; an unknown name takes as long as a wrong password."""
    if len(password) > MAX_PASSWORD:
        return False
    hashed = operators.get(name)
    if hashed is None:
        _DECOY.verify(password)
        return False
    return hashed.verify(password)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def session_key(token: str) -> str:
    """What the session table keeps of a cookie's token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """The synchronizer token check, in constant time; a missing token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True, slots=True)
class SessionTimes:
    ttl: timedelta
    idle: timedelta

    def expires_at(self, created_at: datetime) -> datetime:
        return created_at + self.ttl

    def alive(self, *, now: datetime, expires_at: datetime, last_seen_at: datetime) -> bool:
        return now < expires_at and now < last_seen_at + self.idle


@dataclass(frozen=True, slots=True)
class Bucket:
    """Failed logins of one name from one address: a token bucket, `tokens` as of `at` (epoch seconds)."""

    tokens: float
    at: float


@dataclass(frozen=True, slots=True)
class Throttle:
    burst: int
    refill_seconds: float

    def level(self, bucket: Bucket | None, now: float) -> float:
        if bucket is None:
            return float(self.burst)
        return min(float(self.burst), bucket.tokens + max(0.0, now - bucket.at) / self.refill_seconds)

    def retry_after(self, bucket: Bucket | None, now: float) -> float:
        """0 when a try is allowed now, else the seconds until it is. A refused try is never counted, so
        waiting always gets one more try in: the limit slows guessing, it never locks a name out."""
        level = self.level(bucket, now)
        return 0.0 if level >= 1.0 else (1.0 - level) * self.refill_seconds

    def after_failure(self, bucket: Bucket | None, now: float) -> Bucket:
        return Bucket(max(0.0, self.level(bucket, now) - 1.0), now)
