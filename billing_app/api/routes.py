"""Our own HTTP routes, mounted on Reflex's backend (api_transformer): the auth cookie
hand-off, sign-out and health. Cookies are HttpOnly so page JavaScript never sees them."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from billing_app.db.engine import get_engine, session_scope
from billing_app.services import auth
from billing_app.settings import get_settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "billing_session"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _safe_next(raw: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


async def handoff(request: Request) -> Response:
    """Exchange a one-time login ticket for a new session cookie, then go to the app."""
    ticket = request.query_params.get("ticket", "")
    settings = get_settings()
    with session_scope() as session:
        token = auth.redeem_ticket(
            session,
            ticket,
            ip=_client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            settings=settings,
        )
    if token is None:
        return RedirectResponse("/login?expired=1", status_code=303)
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def signed_out(request: Request) -> Response:
    """Clear the cookie (the session itself is revoked by the sign-out event or here)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with session_scope() as session:
            auth.logout(session, token, ip=_client_ip(request))
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    response.headers["Cache-Control"] = "no-store"
    return response


async def healthz(_: Request) -> Response:
    try:
        with get_engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        log.exception("health check failed")
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})


def build_api() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/auth/handoff", handoff, methods=["GET"]),
            Route("/api/auth/signed-out", signed_out, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
