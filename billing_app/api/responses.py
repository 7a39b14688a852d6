"""Small pieces every backend route uses: who asked (the client address) and answers browsers
must not keep (redirects that set or clear cookies, private files)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def pdf_response(data: bytes, filename: str, *, download: bool = False) -> Response:
    """A PDF for the signed-in person who may read it: never cached, shown inline (or as an
    attachment with ``download``)."""
    disposition = "attachment" if download else "inline"
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'{disposition}; filename="{filename}"',
        },
    )
