"""Running one service process: uvloop, the aiohttp app, graceful stop on SIGINT/SIGTERM."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import uvloop
from aiohttp import web

from payments_common.logging import get_logger


def run(app_factory: Callable[[], Awaitable[web.Application]], host: str, port: int) -> None:
    log = get_logger(__name__)
    log.info("service.starting", host=host, port=port)
    # run_app installs SIGINT/SIGTERM handlers and runs every cleanup_ctx exit on the way down
    web.run_app(
        app_factory(),
        host=host,
        port=port,
        access_log=None,
        print=None,
        shutdown_timeout=5,
        loop=uvloop.new_event_loop(),
    )
    log.info("service.stopped")
