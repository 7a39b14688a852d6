"""Lighthouse scores of the portal's sign-in page and overview (signed in), and of the staff
sign-in page for comparison, on the app as `make run` serves it.

Run: .venv/bin/python bench/bench_lighthouse.py [--runs 5] [--page /portal]
     [--out test-artifacts/lighthouse]

A throwaway database gets a client with a portal user, a year of invoices and its
subscriptions, under a brand with a PNG logo, colours, support contacts and a footer. The app is
started (`reflex run --env prod`, 127.0.0.1 only), and Lighthouse (the npm package pinned in the
Makefile, in .tools) runs Debian's Chromium headless with its defaults: a phone (mobile form
factor, simulated slow 4G and a 4x slower CPU), each run in a fresh Chromium (empty profile and
cache). For the signed-in page the portal session cookie is put in that Chromium's cookie jar
first (over its DevTools port, as a sign-in would leave it; no page is loaded) and Lighthouse
drives that Chromium (--port): Lighthouse's --extra-headers would not reach the page's
websocket, which is where the portal's data comes from.

Printed for each page and run: performance, accessibility, best practices and SEO (0-100),
then, for the portal pages, every audit that did not pass in full with what Lighthouse says
about it. The JSON reports are kept in --out. Goal for the portal pages: performance >= 95,
accessibility 100, best practices 100, judged on the median of the runs (Lighthouse's own
advice: one run's performance score moves by a few points from run to run); the lowest run is
printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import live_app  # noqa: E402
from bench.bench_portal import OWNER, seed  # noqa: E402

LIGHTHOUSE = ROOT / ".tools" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
GOALS = {"performance": 95, "accessibility": 100, "best-practices": 100}
PAGES = (
    # label, path, signed in to the portal, portal page (goals apply)
    ("staff sign-in /login", "/login", False, False),
    ("portal sign-in /portal/login", "/portal/login", False, True),
    ("portal overview /portal", "/portal", True, True),
)


def brand_the_portal(data_dir: Path) -> None:
    """The default brand as an agency sets it up: name, colours, a PNG logo, contacts."""
    from PIL import Image, ImageDraw
    from sqlmodel import Session, col, select

    from billing_app.db.engine import make_engine
    from billing_app.db.models import StaffUser
    from billing_app.services.access.identity import current_user_from
    from billing_app.services.agency import branding

    engine = make_engine(f"sqlite:///{data_dir / 'billing.db'}")
    logo = Image.new("RGB", (320, 80), "#ffffff")
    draw = ImageDraw.Draw(logo)
    draw.rectangle((0, 0, 80, 80), fill="#0f766e")
    draw.text((96, 30), "Northwind Studio", fill="#0f172a")
    png = io.BytesIO()
    logo.save(png, "PNG")
    with Session(engine) as session:
        owner = session.exec(select(StaffUser).where(col(StaffUser.email) == OWNER)).one()
        actor = current_user_from(session, owner)
        brand = branding.default_brand(session)
        assert brand.id is not None
        branding.update_brand(
            session,
            actor,
            brand.id,
            branding.BrandInput(
                name="Northwind Studio",
                primary_color="#0f766e",
                accent_color="#f59e0b",
                sender_name="Northwind Studio",
                reply_to="billing@northwind.test",
                support_email="help@northwind.test",
                support_url="https://northwind.test/help",
                email_footer="Northwind Studio Ltd · 1 Harbour Road · Bristol",
                custom_domain="",
            ),
        )
        branding.upload_logo(session, actor, brand.id, png.getvalue())
        session.commit()
    engine.dispose()


def chromium_flags() -> list[str]:
    flags = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
    flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return flags


@contextmanager
def chromium(cookie: tuple[str, str, str] | None) -> Iterator[int]:
    """A fresh headless Chromium (empty profile and cache) with its debugging port on
    127.0.0.1; ``cookie`` (name, value, origin) is put in its cookie jar first, as signing in
    would (Storage.setCookies over the DevTools protocol), without loading any page."""
    port = live_app.free_port()
    with tempfile.TemporaryDirectory(prefix="lighthouse-chromium-") as profile:
        proc = subprocess.Popen(
            [
                "timeout",
                "600",
                CHROMIUM,
                *chromium_flags(),
                f"--remote-debugging-port={port}",
                "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            browser = _devtools_url(port)
            if cookie:
                asyncio.run(_set_cookie(browser, *cookie))
            yield port
        finally:
            live_app.stop(proc)  # type: ignore[arg-type]


def _devtools_url(port: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=2) as r:
                return str(json.load(r)["webSocketDebuggerUrl"])
        except OSError:
            time.sleep(0.2)
    raise SystemExit("Chromium did not start")


async def _set_cookie(devtools: str, name: str, value: str, origin: str) -> None:
    import aiohttp

    cookie = {"name": name, "value": value, "url": origin, "httpOnly": True, "sameSite": "Lax"}
    async with aiohttp.ClientSession() as http, http.ws_connect(devtools) as ws:
        await ws.send_json(
            {"id": 1, "method": "Storage.setCookies", "params": {"cookies": [cookie]}}
        )
        answer = await ws.receive_json(timeout=10)
        if answer.get("id") != 1 or "error" in answer:
            raise SystemExit(f"could not set the cookie: {answer}")


def lighthouse(url: str, report: Path, cookie: tuple[str, str, str] | None) -> dict[str, Any]:
    """One Lighthouse run of ``url`` in a fresh Chromium (mobile, simulated throttling)."""
    with chromium(cookie) as port, tempfile.TemporaryDirectory(prefix="lighthouse-") as home:
        command = [
            "timeout",
            "300",
            str(LIGHTHOUSE),
            url,
            f"--port={port}",
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            f"--only-categories={','.join(CATEGORIES)}",
            "--max-wait-for-load=60000",
        ]
        env = {**os.environ, "CHROME_PATH": CHROMIUM, "HOME": home}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not report.exists():
        raise SystemExit(f"lighthouse failed on {url}:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def scores(result: dict[str, Any]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for name in CATEGORIES:
        score = result["categories"][name]["score"]
        out[name] = None if score is None else round(score * 100)
    return out


def failing_audits(result: dict[str, Any]) -> list[str]:
    """Every audit of the four categories that did not fully pass, with its display value."""
    lines = []
    audits = result["audits"]
    for name in CATEGORIES:
        for ref in result["categories"][name]["auditRefs"]:
            audit = audits[ref["id"]]
            mode = audit.get("scoreDisplayMode")
            if mode in ("notApplicable", "manual") or audit.get("score") is None:
                continue
            if mode == "informative" or audit["score"] >= 1:
                continue
            shown = audit.get("displayValue", "")
            lines.append(
                f"      [{name}] {ref['id']} (score {audit['score']:.2f}, weight "
                f"{ref.get('weight', 0)}): {audit['title']}" + (f" — {shown}" if shown else "")
            )
    return lines


def goals_line() -> str:
    return ", ".join(f"{k} >= {v}" for k, v in GOALS.items())


def verdict(runs: list[dict[str, int | None]]) -> str:
    """Each goal against the median of the runs, with the lowest run beside it."""
    parts, missed = [], []
    for name, goal in GOALS.items():
        got = sorted(run[name] or 0 for run in runs)
        median = statistics.median(got)
        parts.append(f"{name} {median:g} (lowest {got[0]})")
        if median < goal:
            missed.append(name)
    head = "meets them" if not missed else "misses " + ", ".join(missed)
    return f"{head}: " + ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each page")
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "lighthouse")
    parser.add_argument("--log", type=Path, help="write the app's output here")
    parser.add_argument("--page", default="", help="only the pages whose path contains this")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: make bench installs it")
    if not shutil.which(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is missing: make chromium installs it")
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, int | None]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-lighthouse-") as tmp:
        data_dir = Path(tmp)
        seeded = seed(data_dir, sessions=1, invoices=12, demo_clients=20)
        brand_the_portal(data_dir)
        with live_app.served(data_dir, log=args.log, seconds=1800) as (base, _):
            for label, path, signed_in, portal in PAGES:
                if args.page not in path:
                    continue
                results[label] = []
                for run in range(1, args.runs + 1):
                    slug = path.strip("/").replace("/", "-") or "root"
                    report = args.out / f"{slug}-{run}.json"
                    name, _, value = seeded.cookies[0].partition("=")
                    cookie = (name, value, base) if signed_in else None
                    result = lighthouse(base + path, report, cookie)
                    got = scores(result)
                    results[label].append(got)
                    final = result.get("finalDisplayedUrl", "")
                    shown = "  ".join(f"{k} {'-' if v is None else v:>3}" for k, v in got.items())
                    print(f"{label:<30} run {run}: {shown}   (ended on {final.replace(base, '')})")
                    if portal:
                        for row in failing_audits(result):
                            print(row)
    print("\nGoals for the portal pages (median of the runs): " + goals_line())
    for label, _, _, portal in PAGES:
        if not portal or label not in results:
            continue
        print(f"  {label:<30} " + verdict(results[label]))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
