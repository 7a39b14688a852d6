"""Throttling of failed attempts with exponential backoff (docs/security.md items 18, 40).

A bucket counts the failures of one key (an account, a client address, the whole app). Once
its failures reach the policy's threshold, each further failure locks the bucket for twice as
long as the one before, from ``base`` up to ``cap``. Failures are forgotten after ``forget``
without any. Pure rules: the caller stores the bucket and passes the time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Policy:
    threshold: int
    base: timedelta
    cap: timedelta
    forget: timedelta


@dataclass(frozen=True)
class Bucket:
    failures: int = 0
    locked_until: datetime | None = None
    last_failure_at: datetime | None = None


def current(bucket: Bucket, policy: Policy, now: datetime) -> Bucket:
    """The bucket as it stands at ``now``: stale failures forgotten."""
    if (
        bucket.last_failure_at is not None
        and now - bucket.last_failure_at >= policy.forget
        and not is_locked(bucket, now)
    ):
        return Bucket()
    return bucket


def is_locked(bucket: Bucket, now: datetime) -> bool:
    return bucket.locked_until is not None and bucket.locked_until > now


def lock_remaining(bucket: Bucket, now: datetime) -> timedelta:
    if bucket.locked_until is None or bucket.locked_until <= now:
        return timedelta(0)
    return bucket.locked_until - now


def lock_duration(failures: int, policy: Policy) -> timedelta:
    """How long the ``failures``-th failure locks for (zero below the threshold)."""
    if failures < policy.threshold:
        return timedelta(0)
    duration = policy.base
    for _ in range(failures - policy.threshold):
        if duration >= policy.cap:
            break  # doubling stops at the cap (and never overflows)
        duration *= 2
    capped: timedelta = min(duration, policy.cap)
    return capped


def after_failure(bucket: Bucket, policy: Policy, now: datetime) -> Bucket:
    """The bucket after one more failure at ``now``."""
    bucket = current(bucket, policy, now)
    failures = bucket.failures + 1
    duration = lock_duration(failures, policy)
    locked_until = now + duration if duration else bucket.locked_until
    return replace(bucket, failures=failures, locked_until=locked_until, last_failure_at=now)
