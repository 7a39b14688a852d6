"""Stored throttle buckets and the policies of sign-in, second factor and reset requests
(docs/security.md items 14, 18, 40). The rules are in domain/throttle.py.

Sign-in failures count three times: per account (a digest of the typed address, whether or
not an account has it: the answers stay the same), per client address (spraying many
accounts from one address is slowed), and for the whole app. When the whole app sees a flood
of failures (a distributed attack), every address gets a much lower threshold until it calms
down. A password reset lifts the account's lock: whoever can read the mailbox gets past a
lock that anyone could have caused.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from billing_app.db.models import AuthThrottle
from billing_app.domain.throttle import Bucket, Policy, current
from billing_app.settings import Settings

GLOBAL_KEY = "global"


def account_key(typed_email: str) -> str:
    """The key of the account an address names (typed text is never stored as such)."""
    normal = " ".join(typed_email.split()).lower()
    return "account:" + hashlib.sha256(normal.encode("utf-8")).hexdigest()


def address_key(ip: str, purpose: str = "login") -> str:
    return f"{purpose}-address:{ip[:64] or 'unknown'}"


def second_factor_key(user_id: int) -> str:
    return f"2fa:{user_id}"


def account_policy(settings: Settings) -> Policy:
    return Policy(
        threshold=settings.login_max_failures,
        base=timedelta(minutes=settings.login_lockout_minutes),
        cap=timedelta(hours=24),
        forget=timedelta(hours=24),
    )


def address_policy(settings: Settings, *, under_attack: bool) -> Policy:
    return Policy(
        threshold=(
            settings.login_address_max_failures_under_attack
            if under_attack
            else settings.login_address_max_failures
        ),
        base=timedelta(minutes=1),
        cap=timedelta(hours=1),
        forget=timedelta(hours=1),
    )


def global_policy(settings: Settings) -> Policy:
    """Locked = "under attack": the app as a whole saw too many failures lately."""
    return Policy(
        threshold=settings.login_global_max_failures,
        base=timedelta(minutes=5),
        cap=timedelta(minutes=30),
        forget=timedelta(minutes=10),
    )


SECOND_FACTOR_POLICY = Policy(
    threshold=5, base=timedelta(minutes=15), cap=timedelta(hours=24), forget=timedelta(hours=24)
)
# Reset requests per client address: a handful per hour, then one more each doubling wait.
RESET_ADDRESS_POLICY = Policy(
    threshold=10, base=timedelta(minutes=10), cap=timedelta(hours=6), forget=timedelta(hours=1)
)


def load(session: Session, key: str, policy: Policy, now: datetime) -> Bucket:
    row = session.get(AuthThrottle, key)
    if row is None:
        return Bucket()
    return current(Bucket(row.failures, row.locked_until, row.last_failure_at), policy, now)


def save(session: Session, key: str, bucket: Bucket) -> None:
    row = session.get(AuthThrottle, key) or AuthThrottle(key=key)
    row.failures = bucket.failures
    row.locked_until = bucket.locked_until
    row.last_failure_at = bucket.last_failure_at
    session.add(row)


def clear(session: Session, *keys: str) -> None:
    session.execute(sa.delete(AuthThrottle).where(col(AuthThrottle.key).in_(keys)))
