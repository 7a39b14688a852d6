"""localstripe, Stripe's offline stand-in, for the tests: bound to 127.0.0.1 only, nothing
saved to disk (the stock command listens everywhere and pickles to a fixed file), and gone as
soon as the process that started it is.

Run: python tests/localstripe_server.py PORT PARENT_PID
"""

from __future__ import annotations

import asyncio
import os
import sys

from aiohttp import web
from localstripe import resources


async def _watch_parent(parent: int) -> None:
    while True:
        await asyncio.sleep(1)
        if os.getppid() != parent:
            os._exit(0)  # the test run is over: stop with it


async def _on_startup(app: web.Application) -> None:
    app["watch_parent"] = asyncio.create_task(_watch_parent(int(sys.argv[2])))


def _confirm_off_session() -> None:
    """Stripe accepts ``off_session`` when confirming a PaymentIntent (the client is away: a
    bank that wants them fails the charge); localstripe refuses any parameter there. Accept it,
    as Stripe does, for the cards localstripe charges without asking the bank."""
    confirm = resources.PaymentIntent._api_confirm.__func__  # type: ignore[attr-defined]

    def _api_confirm(cls: type, id: str, off_session: object = None, **kwargs: object) -> object:
        return confirm(cls, id, **kwargs)

    resources.PaymentIntent._api_confirm = classmethod(_api_confirm)  # type: ignore[method-assign, assignment]
    path = "/v1/payment_intents/{id}/confirm"
    resources.extra_apis[:] = [
        (method, url, resources.PaymentIntent._api_confirm if url == path else func)
        for method, url, func in resources.extra_apis
    ]


def main() -> None:
    _confirm_off_session()  # before the server module reads the routes
    from localstripe import server

    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    server.app.on_startup.append(_on_startup)
    web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
