"""Running one service process: settings, logging, uvloop, the aiohttp app, graceful stop."""

from __future__ import annotations

import gc
import logging as stdlib_logging
import sys
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import uvloop
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ValidationError

from payments_common import logging
from payments_common.http import HttpLimits


class ServiceSettings(Protocol):
    HOST: str
    LOG_LEVEL: str

    @property
    def port(self) -> int: ...

    def secrets(self) -> list[str]: ...


S = TypeVar("S", bound=ServiceSettings)
T = TypeVar("T")


class MalformedRequestFilter(stdlib_logging.Filter):
    """aiohttp logs a request head its parser refused (a header too long, too many headers, bad
    syntax) as an error with a traceback, quoting the offending bytes, which may be a credential.
    It is the client's fault and aiohttp has answered it 400: one line without the bytes is enough."""

    def filter(self, record: stdlib_logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = "http.malformed_request %s", (type(error).__name__,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = stdlib_logging.INFO, "INFO"
        return True


async def freeze_startup_objects(_: web.Application) -> None:
    """Everything built while starting (modules, models, settings, pools) lives as long as the process:
    frozen out of the cyclic collector's sight, a full collection scans only what requests left behind.
    Without it each full collection walks every object of every library loaded, and its pause (tens of
    milliseconds, measured under load) lands in the latency of every request in flight at the time."""
    gc.collect()
    gc.freeze()


async def _with_frozen_startup(app_factory: Callable[[], Awaitable[web.Application]]) -> web.Application:
    app = await app_factory()
    # after every other start-up step: on_startup runs the cleanup contexts' set-up first
    app.on_startup.append(freeze_startup_objects)
    return app


def run(app_factory: Callable[[], Awaitable[web.Application]], host: str, port: int) -> None:
    log = logging.get_logger(__name__)
    log.info("service.starting", host=host, port=port)
    stdlib_logging.getLogger("aiohttp.server").addFilter(MalformedRequestFilter())
    # run_app installs SIGINT/SIGTERM handlers and runs every cleanup_ctx exit on the way down
    web.run_app(
        _with_frozen_startup(app_factory),
        host=host,
        port=port,
        access_log=None,
        print=None,
        shutdown_timeout=5,
        loop=uvloop.new_event_loop(),
    )
    log.info("service.stopped")


def load_settings(name: str, settings_factory: Callable[[], T]) -> T:
    """Settings, or one line per bad variable on stderr and exit status 2.

    pydantic's own message prints the offending input, which for a missing variable is every other
    variable the process was given, secrets included: only names and reasons are printed here.
    """
    try:
        return settings_factory()
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            field = ".".join(str(part) for part in error["loc"])
            print(f"{name}: {field}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def main(name: str, settings_factory: Callable[[], S], create_app: Callable[[S], Awaitable[web.Application]]) -> None:
    """A service's console script: settings from the environment (a missing secret stops it here),
    JSON logs that mask every secret the settings hold, then the app until SIGINT/SIGTERM."""
    settings = load_settings(name, settings_factory)
    # base_app reads the HTTP limits itself; a malformed one stops the process here, said plainly
    load_settings(name, HttpLimits)
    logging.configure(name, settings.LOG_LEVEL)
    logging.register_secrets(settings.secrets())
    run(lambda: create_app(settings), settings.HOST, settings.port)
