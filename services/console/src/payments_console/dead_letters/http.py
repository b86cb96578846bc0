"""GET /dead-letters, GET /dead-letters/{id}, POST /dead-letters/requeue and /dead-letters/purge."""

from __future__ import annotations

import orjson
from aiohttp import web

from payments_common.admin_api.operations import OperationResult
from payments_common.logging import get_logger
from payments_console.admin_api.client import AdminApiError, NotFound
from payments_console.admin_api.schemas import Selection
from payments_console.auth import service as auth_service
from payments_console.auth.http import AUTH
from payments_console.dead_letters.domain import SelectionError, describe, grouped, selection_from_form
from payments_console.deps import ADMIN_API
from payments_console.http import SESSION, error_page, first, form_of, render

log = get_logger(__name__)


async def listing(request: web.Request) -> web.Response:
    try:
        result = await request.app[ADMIN_API].dead_letters()
    except AdminApiError as exc:
        return render(request, "dead_letters.html", {"listing": None, "groups": [], "error": str(exc)})
    return render(request, "dead_letters.html", {"listing": result, "groups": grouped(result), "error": None})


async def show(request: web.Request) -> web.Response:
    message_id = request.match_info["message_id"]
    try:
        found = await request.app[ADMIN_API].dead_letter(message_id)
    except NotFound:
        return error_page(request, 404, "No such dead letter", "It may have been requeued or purged already.")
    letters = [(letter, orjson.dumps(letter.body, option=orjson.OPT_INDENT_2).decode()) for letter in found.messages]
    return render(request, "dead_letter.html", {"letters": letters, "message_id": message_id})


async def _act(request: web.Request, action: str, selection: Selection) -> OperationResult:
    api = request.app[ADMIN_API]
    operator = request[SESSION].operator
    result = await (api.requeue(selection) if action == "requeue" else api.purge(selection))
    if not selection.dryRun:
        outcome = f"selected {result.selected}, succeeded {result.succeeded}, failed {result.failed}"
        log.info("console.dead_letters", operator=operator, action=action, selection=describe(selection))
        await auth_service.record_action(request.app[AUTH], operator, f"dlq.{action}", describe(selection), outcome)
    return result


async def requeue(request: web.Request) -> web.Response:
    form = await form_of(request)
    try:
        selection = selection_from_form(form)
        result = await _act(request, "requeue", selection)
    except SelectionError as exc:
        return error_page(request, 400, "Nothing selected", str(exc))
    except AdminApiError as exc:
        return error_page(request, 502, "payment-svc refused", str(exc))
    return render(request, "dlq_result.html", {"result": result, "what": describe(selection)})


async def purge(request: web.Request) -> web.Response:
    """Twice: first a dry run that shows what would go and asks to confirm, then the purge."""
    form = await form_of(request)
    confirmed = first(form, "confirm") == "purge"
    try:
        selection = selection_from_form(form, dry_run=not confirmed)
        result = await _act(request, "purge", selection)
    except SelectionError as exc:
        return error_page(request, 400, "Nothing selected", str(exc))
    except AdminApiError as exc:
        return error_page(request, 502, "payment-svc refused", str(exc))
    if not confirmed:
        return render(
            request, "dlq_confirm.html", {"result": result, "selection": selection, "what": describe(selection)}
        )
    return render(request, "dlq_result.html", {"result": result, "what": describe(selection)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/dead-letters", listing)
    app.router.add_get("/dead-letters/{message_id}", show)
    app.router.add_post("/dead-letters/requeue", requeue)
    app.router.add_post("/dead-letters/purge", purge)
