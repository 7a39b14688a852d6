"""Talking to the running app over its websocket as a browser tab would: connect as a tab
(its client token), with a cookie or none, send events, collect the updates."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import socketio

from .conftest import AppServer

NAMESPACE = "/_event"
Event = tuple[str, dict[str, Any], str]  # handler name, payload, page path


def run_async(coro: Any) -> Any:
    """Run a coroutine in its own thread (Playwright's sync API owns this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _exchange(
    server: AppServer, token: str, cookie: str | None, events: list[Event], quiet: float
) -> list[dict[str, Any]]:
    client = socketio.AsyncClient(reconnection=False)
    updates: list[dict[str, Any]] = []

    @client.on("event", namespace=NAMESPACE)
    async def on_event(data: Any) -> None:
        updates.append(json.loads(data) if isinstance(data, str) else data)

    headers = {"Origin": server.base_url}
    if cookie:
        headers["Cookie"] = cookie
    await client.connect(
        f"{server.base_url}?token={token}",
        socketio_path="/_event",
        transports=["websocket"],
        headers=headers,
        wait_timeout=10,
        namespaces=[NAMESPACE],
    )
    try:
        for name, payload, path in events:
            # "/portal/invoices/7?invoice_id=7": the query holds a dynamic route's parameters,
            # as the page's router sends them.
            pathname, _, query = path.partition("?")
            await client.emit(
                "event",
                {
                    "name": name,
                    "payload": payload,
                    "router_data": {
                        "pathname": pathname,
                        "asPath": pathname,
                        "query": dict(parse_qsl(query)),
                    },
                },
                namespace=NAMESPACE,
            )
        # The updates arrive in bursts: wait for the first, then until the server goes quiet.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not updates and loop.time() < deadline:
            await asyncio.sleep(0.05)
        seen = -1
        while seen != len(updates) and loop.time() < deadline:
            seen = len(updates)
            await asyncio.sleep(quiet)
    finally:
        await client.disconnect()
        await asyncio.sleep(0.3)  # let the server unlink the tab's token from this socket
    return updates


def exchange(
    server: AppServer,
    *,
    token: str,
    cookie: str | None,
    events: list[Event],
    quiet: float = 1.0,
) -> list[dict[str, Any]]:
    """Open a websocket as tab ``token`` (with ``cookie``, or none), send ``events`` one after
    the other, and return every update received until the server goes quiet."""
    return run_async(_exchange(server, token, cookie, events, quiet))
