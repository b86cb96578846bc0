"""Signing in and out, and finding the session a request belongs to."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from payments_console.auth import repository
from payments_console.auth.domain import PasswordHash, Throttle, check_password, new_token, session_key


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    operator: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class Auth:
    """What signing in needs, wired once by app.py."""

    pool: asyncpg.Pool
    operators: dict[str, PasswordHash]
    throttle: Throttle
    ttl_seconds: float
    idle_seconds: float


@dataclass(frozen=True, slots=True)
class SignedIn:
    session: Session


@dataclass(frozen=True, slots=True)
class Refused:
    pass


@dataclass(frozen=True, slots=True)
class Throttled:
    retry_after: float


LoginResult = SignedIn | Refused | Throttled


async def login(auth: Auth, name: str, password: str, address: str) -> LoginResult:
    """A new session for a right password. Failed tries of one name from one address take tokens from
    its bucket; with none left the password is not even checked until one has refilled. The bucket's
    row stays locked while the password is checked, so parallel guesses take turns."""
    async with auth.pool.acquire() as conn, conn.transaction():
        bucket = await repository.lock_bucket(conn, name, address)
        now = await repository.db_now(conn)
        wait = auth.throttle.retry_after(bucket, now)
        if wait > 0:
            return Throttled(wait)
        # scrypt is CPU work of tens of milliseconds: off the event loop
        if not await asyncio.to_thread(check_password, auth.operators, name, password):
            await repository.store_bucket(conn, name, address, auth.throttle.after_failure(bucket, now))
            return Refused()
        await repository.delete_bucket(conn, name, address)
        await repository.delete_dead_sessions(conn, auth.idle_seconds)
        session = Session(token=new_token(), operator=name, csrf_token=new_token())
        await repository.insert_session(
            conn, session_key(session.token), name, session.csrf_token, address, auth.ttl_seconds
        )
        return SignedIn(session)


async def current_session(auth: Auth, token: str | None, *, touch: bool) -> Session | None:
    """The live session of a cookie's token; `touch` counts the request as the operator's activity (a
    page's own refresh does not, so an open page alone never keeps a session alive)."""
    if not token:
        return None
    key = session_key(token)
    async with auth.pool.acquire() as conn:
        row = await repository.live_session(conn, key, auth.idle_seconds)
        if row is None:
            return None
        if touch:
            await repository.touch_session(conn, key)
    # an operator removed from CONSOLE_OPERATORS (and the console restarted) is signed out
    if row.operator not in auth.operators:
        return None
    return Session(token=token, operator=row.operator, csrf_token=row.csrf_token)


async def logout(auth: Auth, token: str) -> None:
    async with auth.pool.acquire() as conn:
        await repository.delete_session(conn, session_key(token))


async def record_action(auth: Auth, operator: str, action: str, target: str, outcome: str) -> None:
    async with auth.pool.acquire() as conn:
        await repository.record_action(conn, operator, action, target, outcome)
