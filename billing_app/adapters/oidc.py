"""Talking to the agency's OpenID Connect provider (staff single sign-on) with authlib:
discovery, the authorization URL (code flow, PKCE S256, state, nonce), the code exchange, and
the ID token check (signature from the provider's JWKS, issuer, audience, expiry, nonce).

Every failure is an ``OidcError`` whose ``reason`` is a short fixed word (for the audit log and
the error page) and whose message says what is wrong in plain words. Nothing here logs a token,
a code or a secret."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

TIMEOUT = httpx.Timeout(8.0, connect=4.0)
SCOPE = "openid email profile"
# Clock skew allowed on exp/iat, in seconds.
LEEWAY = 60
_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class OidcError(Exception):
    """The provider could not be used or its answer was refused."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks: dict[str, Any]


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise OidcError(
            "provider_down", f"The provider cannot be reached ({what}): {type(exc).__name__}."
        ) from exc
    if response.status_code != 200:
        raise OidcError(
            "provider_down", f"The provider answered {response.status_code} for its {what}."
        )
    try:
        data = response.json()
    except ValueError as exc:
        raise OidcError("provider_down", f"The provider's {what} is not JSON.") from exc
    if not isinstance(data, dict):
        raise OidcError("provider_down", f"The provider's {what} is not a JSON object.")
    return data


def normalize_issuer(url: str) -> str:
    return url.strip().rstrip("/")


def discover(issuer_url: str) -> ProviderMetadata:
    """Read the provider's discovery document and its keys; refuse a document that names
    another issuer, or that has no endpoints or no keys."""
    issuer = normalize_issuer(issuer_url)
    doc = _get_json(f"{issuer}/.well-known/openid-configuration", "discovery document")
    named = str(doc.get("issuer", ""))
    if normalize_issuer(named) != issuer:
        raise OidcError(
            "discovery",
            f"The discovery document names another issuer ({named or 'none'}): "
            "check the issuer URL.",
        )
    endpoints = {k: str(doc.get(k) or "") for k in ("authorization_endpoint", "token_endpoint")}
    missing = [k for k, v in endpoints.items() if not v.startswith(("https://", "http://"))]
    if missing:
        raise OidcError("discovery", "The discovery document has no " + " and no ".join(missing))
    jwks_uri = str(doc.get("jwks_uri") or "")
    if not jwks_uri:
        raise OidcError("discovery", "The discovery document has no JWKS (jwks_uri).")
    jwks = _get_json(jwks_uri, "JWKS")
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise OidcError("discovery", "The provider's JWKS holds no keys.")
    try:
        KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise OidcError("discovery", "The provider's JWKS cannot be read.") from exc
    return ProviderMetadata(
        issuer=named,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks=jwks,
    )


def _client(client_id: str, client_secret: str = "", redirect_uri: str = "") -> OAuth2Client:
    return OAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=TIMEOUT,
    )


def authorization_url(
    meta: ProviderMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    """Where the browser goes to sign in at the provider."""
    with _client(client_id, redirect_uri=redirect_uri) as client:
        url, _ = client.create_authorization_url(
            meta.authorization_endpoint, state=state, code_verifier=code_verifier, nonce=nonce
        )
    return str(url)


def exchange_code(
    meta: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
) -> dict[str, Any]:
    """The provider's tokens for an authorization code (with the PKCE verifier)."""
    try:
        with _client(client_id, client_secret, redirect_uri) as client:
            token = client.fetch_token(
                meta.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
    except httpx.HTTPError as exc:
        raise OidcError("provider_down", "The provider cannot be reached to finish.") from exc
    except OAuth2Error as exc:
        raise OidcError("code_refused", f"The provider refused the code ({exc.error}).") from exc
    if not isinstance(token, dict) or not token.get("id_token"):
        raise OidcError("token", "The provider sent no ID token.")
    return dict(token)


_CLAIM_REASONS = {"iss": "issuer", "aud": "audience", "nonce": "nonce", "exp": "expired"}


def validate_id_token(
    id_token: str,
    *,
    meta: ProviderMetadata,
    client_id: str,
    nonce: str,
    access_token: str = "",
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of ``id_token`` once its signature (the provider's JWKS), issuer, audience
    (exactly our client id, a list or a string alike), expiry and nonce are checked."""
    try:
        keys = KeySet.import_key_set(meta.jwks)  # type: ignore[arg-type]
        token = jwt.decode(
            id_token, keys, registry=JWSRegistry(algorithms=_ALGORITHMS, strict_check_header=False)
        )
    except (BadSignatureError, InvalidKeyIdError) as exc:
        raise OidcError("signature", "The ID token's signature does not match.") from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise OidcError("token", "The ID token cannot be read.") from exc
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": meta.issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    params = {"nonce": nonce, "client_id": client_id, "access_token": access_token}
    claims = CodeIDToken(token.claims, token.header, options, params)
    try:
        claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY)
    except ExpiredTokenError as exc:
        raise OidcError("expired", "The ID token has expired.") from exc
    except ClaimError as exc:
        reason = _CLAIM_REASONS.get(exc.claim, "token")
        raise OidcError(reason, f"The ID token's {exc.claim} is not the expected one.") from exc
    except JoseError as exc:
        raise OidcError("token", "The ID token is not valid.") from exc
    return dict(claims)
