"""A service freezes what it built while starting out of the cyclic collector's sight, once started."""

from __future__ import annotations

import gc

from aiohttp import web

from payments_common import service


async def test_the_objects_of_start_up_are_frozen_once_the_app_has_started() -> None:
    async def factory() -> web.Application:
        return web.Application()

    app = await service._with_frozen_startup(factory)
    # the last start-up step, after the cleanup contexts' set-up
    assert list(app.on_startup)[-1] is service.freeze_startup_objects
    try:
        before = gc.get_freeze_count()
        await service.freeze_startup_objects(app)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
