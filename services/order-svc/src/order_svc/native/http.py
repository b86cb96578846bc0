"""The native routes' plumbing where a use case is shared with /v1: its errors restated in the native API's
words, and a body that may be left out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from aiohttp import web

from payments_common.errors import ApiError
from payments_common.http import read_json_object


@contextmanager
def native_errors(fields: Mapping[str, str], conflicts: frozenset[str] = frozenset()) -> Iterator[None]:
    """A shared use case's errors as the native API states them: the field at fault named as the native
    request names it (`plan_id` is `planId`), and a refusal /v1 answers as Razorpay's 400 (a code of
    `conflicts`: the resource's status forbids it) a 409."""
    try:
        yield
    except ApiError as error:
        field = fields.get(error.field) if error.field is not None else None
        status = 409 if error.code in conflicts else error.status
        if field is None and status == error.status:
            raise
        description = error.description
        if field is not None and error.field is not None:
            description = description.replace(error.field, field)
        raise ApiError(status, error.code, description, field or error.field) from None


async def object_or_empty(request: web.Request) -> dict[str, object]:
    """The body's JSON object; no body at all is an empty object (an action with nothing to say). Read
    whole, not asked `can_read_body`: the body middleware has read every body before the view, so the
    stream is always at its end by then, body or none."""
    if not await request.read():
        return {}
    return await read_json_object(request)
