"""A small OpenID Connect provider for the tests, built from authlib's own server parts
(discovery metadata checked with ``OpenIDProviderMetadata``, PKCE with authlib's S256
challenge, ID tokens signed with joserfc, authlib's JOSE library) on 127.0.0.1 in a daemon
thread. It serves discovery, JWKS, an authorize page (a form "Acme SSO" with an email and
Continue / Cancel, or an immediate answer with ``?login=<email>``) and the token endpoint
(single-use codes, client secret, PKCE). ``faults`` bends the ID token for the refusal tests.
``stop()`` (or the end of the process) stops it."""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "billing-app"
CLIENT_SECRET = "acme-client-secret-0123456789"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str
    email: str


@dataclass
class Provider:
    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    other_key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"})
    )
    # email -> extra claims (sub, email_verified, amr, name); unknown emails get defaults.
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "audience", "issuer", "expired", "signature", "nonce": what to get wrong.
    faults: set[str] = field(default_factory=set)
    codes: dict[str, Grant] = field(default_factory=dict)
    token_calls: int = 0
    down: bool = False
    now: Any = time.time
    server: ThreadingHTTPServer | None = None

    def claims_for(self, grant: Grant) -> dict[str, Any]:
        now = int(self.now())
        extra = dict(self.users.get(grant.email, {}))
        claims: dict[str, Any] = {
            "iss": self.issuer + "/evil" if "issuer" in self.faults else self.issuer,
            "sub": extra.pop("sub", "sub-" + grant.email),
            "aud": "someone-else" if "audience" in self.faults else grant.client_id,
            "iat": now - (3600 if "expired" in self.faults else 0),
            "exp": now + (-1800 if "expired" in self.faults else 300),
            "nonce": "not-the-nonce" if "nonce" in self.faults else grant.nonce,
            "email": grant.email,
            "email_verified": True,
            "name": grant.email.split("@", maxsplit=1)[0].title(),
        }
        claims.update(extra)
        return claims

    def id_token(self, grant: Grant) -> str:
        key = self.other_key if "signature" in self.faults else self.key
        return jwt.encode({"alg": "RS256", "kid": "k1"}, self.claims_for(grant), key)

    def metadata(self) -> dict[str, Any]:
        meta = OpenIDProviderMetadata(
            issuer=self.issuer,
            authorization_endpoint=f"{self.issuer}/authorize",
            token_endpoint=f"{self.issuer}/token",
            jwks_uri=f"{self.issuer}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256"],
        )
        meta.validate()
        return dict(meta)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width"></head><body><main>'
        f"<h1>{title}</h1>{body}</main></body></html>"
    ).encode()


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: Any, status: int = 200) -> None:
            self._send(status, json.dumps(data).encode(), "application/json", {})

        def _back(self, redirect_uri: str, params: dict[str, str]) -> None:
            self._send(302, b"", "text/plain", {"Location": f"{redirect_uri}?{urlencode(params)}"})

        def do_GET(self) -> None:
            if provider.down:
                self._send(503, b"down", "text/plain", {})
                return
            url = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(provider.metadata())
            elif url.path == "/jwks":
                self._json(KeySet([provider.key]).as_dict(private=False))
            elif url.path == "/authorize":
                self._authorize(q)
            else:
                self._send(404, b"not found", "text/plain", {})

        def _authorize(self, q: dict[str, str]) -> None:
            if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
                self._json({"error": "invalid_request"}, 400)
                return
            if q.get("cancel"):
                self._back(q["redirect_uri"], {"error": "access_denied", "state": q["state"]})
                return
            email = q.get("login", "")
            if not email:
                hidden = "".join(
                    f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                    for k, v in q.items()
                )
                form = (
                    f'<form method="get" action="/authorize">{hidden}'
                    '<label for="login">Email</label> <input id="login" name="login" type="email">'
                    ' <button type="submit" id="acme-continue">Continue</button>'
                    ' <button type="submit" name="cancel" value="1" id="acme-cancel">Cancel'
                    "</button></form>"
                )
                self._send(200, _page("Acme SSO", form), "text/html; charset=utf-8", {})
                return
            code = secrets.token_urlsafe(24)
            provider.codes[code] = Grant(
                client_id=q["client_id"],
                redirect_uri=q["redirect_uri"],
                nonce=q.get("nonce", ""),
                challenge=q.get("code_challenge", ""),
                email=email.strip().lower(),
            )
            self._back(q["redirect_uri"], {"code": code, "state": q.get("state", "")})

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._send(404, b"not found", "text/plain", {})
                return
            provider.token_calls += 1
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            auth = self.headers.get("Authorization", "")
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if auth != f"Basic {expected}":
                self._json({"error": "invalid_client"}, 401)
                return
            grant = provider.codes.pop(form.get("code", ""), None)  # single use
            verifier = form.get("code_verifier", "")
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant.redirect_uri
                or create_s256_code_challenge(verifier) != grant.challenge
            ):
                self._json({"error": "invalid_grant"}, 400)
                return
            self._json(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(grant),
                }
            )

    return Handler


@contextmanager
def running_provider() -> Iterator[Provider]:
    provider = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    server.daemon_threads = True
    provider.server = server
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.stop()
        thread.join(timeout=5)
