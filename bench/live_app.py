"""What the benches that drive the running app share: a throwaway data folder migrated and filled,
the app served as `make run` serves it (`reflex run --env prod`, one process, on 127.0.0.1 only,
stopped by `timeout` even if the bench is killed), the memory of its process tree, and a tab
talking to it over Reflex's websocket as a browser does.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import socketio

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
NAMESPACE = "/_event"
START_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def data_env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "BILLING_DATA_DIR": str(data_dir)}


def migrate(data_dir: Path) -> None:
    subprocess.run(
        [str(ROOT / ".venv/bin/alembic"), "upgrade", "head"],
        env=data_env(data_dir),
        check=True,
        cwd=ROOT,
        capture_output=True,
    )


def seed_demo(data_dir: Path, clients: int) -> None:
    """Clients with websites and ~3 subscriptions each (`python -m billing_app seed-demo`)."""
    subprocess.run(
        [PY, "-m", "billing_app", "seed-demo", "--clients", str(clients)],
        env=data_env(data_dir),
        check=True,
        cwd=ROOT,
        capture_output=True,
    )


def create_owner(data_dir: Path, email: str, password: str) -> None:
    subprocess.run(
        [
            PY,
            "-m",
            "billing_app",
            "create-owner",
            "--name",
            "Bench Owner",
            "--email",
            email,
            "--password-stdin",
        ],
        env=data_env(data_dir),
        input=password + "\n",
        text=True,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )


def _up(base: str, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise SystemExit(f"the app exited early (code {proc.returncode})")
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as health:
            if health.status != 200:
                return False
        with urllib.request.urlopen(f"{base}/login/", timeout=5) as page:
            return page.status == 200
    except OSError:
        return False


def start(
    data_dir: Path,
    port: int,
    *,
    log: Path | None = None,
    seconds: int = 1200,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Serve the app from ``data_dir`` on 127.0.0.1:``port`` and wait until it answers. It stops
    by itself after ``seconds`` (`timeout`) whatever happens to the caller."""
    env = {
        **data_env(data_dir),
        "PATH": f"{ROOT / '.tools/node_modules/.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "REFLEX_DIR": str(ROOT / ".tools" / "reflex"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "BILLING_BASE_URL": f"http://127.0.0.1:{port}",
        "BILLING_HOST": "127.0.0.1",
        "BILLING_PORT": str(port),
        **(extra_env or {}),
    }
    out = log.open("wb") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(
            [
                "timeout",
                str(seconds),
                str(ROOT / ".venv/bin/reflex"),
                "run",
                "--env",
                "prod",
                "--single-port",
                "--frontend-port",
                str(port),
                "--backend-port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if _up(base, proc):
                return proc
            time.sleep(0.5)
    except BaseException:
        stop(proc)
        raise
    stop(proc)
    raise SystemExit("the app did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the app's whole process group (it was started in a session of its own)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


@contextmanager
def served(data_dir: Path, **kwargs: Any) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The app served on a free port for the duration of the block: (base URL, process)."""
    port = free_port()
    proc = start(data_dir, port, **kwargs)
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop(proc)


def _session_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[3])  # the fields after the name: state, ppid, pgrp, session


def tree_memory(proc: subprocess.Popen[bytes]) -> dict[str, int]:
    """RSS and PSS (bytes) summed over every process of the app (its session: `timeout`,
    reflex, Granian and its worker). PSS shares pages between them, RSS counts them in each."""
    rss = pss = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if _session_of(int(entry)) != proc.pid:
                continue
            with open(f"/proc/{entry}/smaps_rollup", encoding="ascii") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key == "Rss":
                        rss += int(value.split()[0]) * 1024
                    elif key == "Pss":
                        pss += int(value.split()[0]) * 1024
        except (OSError, ValueError, IndexError):
            continue  # it ended meanwhile
    return {"rss": rss, "pss": pss}


def tree_cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """User + system CPU time used so far by the app's processes."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if _session_of(int(entry)) != proc.pid:
                continue
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def handler(state: type, name: str) -> str:
    """The full event name of a state's handler, as the page sends it."""
    return f"{state.get_full_name()}.{name}"  # type: ignore[attr-defined]


def router_data(path: str) -> dict[str, Any]:
    """What the page's router sends with an event; "/x/7?id=7": a dynamic route's parameters
    are in the query, as the page sends them."""
    pathname, _, query = path.partition("?")
    return {"pathname": pathname, "asPath": path, "query": dict(parse_qsl(query))}


class Tab:
    """One browser tab on the app's websocket (its client token, its cookie)."""

    def __init__(self, base: str, token: str, cookie: str | None) -> None:
        self.base = base
        self.token = token
        self.cookie = cookie
        self.client = socketio.AsyncClient(reconnection=False)
        self.updates: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self.client.on("event", self._on_event, namespace=NAMESPACE)

    async def _on_event(self, data: Any) -> None:
        update = json.loads(data) if isinstance(data, str) else data
        self.updates.put_nowait((time.monotonic(), update))

    async def connect(self, timeout: float = 60) -> None:
        headers = {"Origin": self.base}
        if self.cookie:
            headers["Cookie"] = self.cookie
        await self.client.connect(
            f"{self.base}?token={self.token}",
            socketio_path="/_event",
            transports=["websocket"],
            headers=headers,
            wait_timeout=timeout,
            namespaces=[NAMESPACE],
        )

    async def send(self, name: str, payload: dict[str, Any], path: str) -> float:
        """Send one event; returns when it was sent (time.monotonic())."""
        sent = time.monotonic()
        await self.client.emit(
            "event",
            {"name": name, "payload": payload, "router_data": router_data(path)},
            namespace=NAMESPACE,
        )
        return sent

    def drain(self) -> None:
        while not self.updates.empty():
            self.updates.get_nowait()

    async def close(self) -> None:
        await self.client.disconnect()
