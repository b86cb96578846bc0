"""SQL the features' repositories share, over the gateway's `gateway` schema: a stored record read into the
model the API shows it with, whose fields are the table's column names."""

from __future__ import annotations

from typing import TypeVar

import asyncpg
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def columns(model: type[BaseModel]) -> str:
    """The select list of `model`: its fields are the columns' names."""
    return ", ".join(model.model_fields)


async def fetch_one(
    conn: asyncpg.Connection | asyncpg.Pool, model: type[M], table: str, key: str, value: str
) -> M | None:
    """The row of `table` whose `key` column holds `value`, as `model`; `table` and `key` are this
    code's own names, never a caller's."""
    row = await conn.fetchrow(f"SELECT {columns(model)} FROM {table} WHERE {key} = $1", value)
    return None if row is None else model.model_validate(dict(row))
