"""Throttling of failed attempts (docs/security.md items 18, 40): a lock from the threshold on,
doubling with every further failure up to the cap, failures forgotten after a quiet spell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain.throttle import (
    Bucket,
    Policy,
    after_failure,
    current,
    is_locked,
    lock_duration,
    lock_remaining,
)

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# Three failures lock for a minute, then 2, 4, 8, capped at 10; forgotten after an hour.
POLICY = Policy(threshold=3, base=MINUTE, cap=10 * MINUTE, forget=timedelta(hours=1))


def fail(times: int, policy: Policy = POLICY, start: datetime = T0) -> Bucket:
    """The bucket after `times` failures one second apart."""
    bucket = Bucket()
    for second in range(times):
        bucket = after_failure(bucket, policy, start + timedelta(seconds=second))
    return bucket


def test_failures_below_the_threshold_count_but_do_not_lock() -> None:
    bucket = fail(2)
    assert bucket.failures == 2
    assert bucket.locked_until is None
    assert bucket.last_failure_at == T0 + timedelta(seconds=1)
    assert not is_locked(bucket, T0 + timedelta(seconds=1))
    assert lock_remaining(bucket, T0 + timedelta(seconds=1)) == timedelta(0)


def test_the_threshold_failure_locks_for_the_base_duration() -> None:
    bucket = fail(3)
    third = T0 + timedelta(seconds=2)
    assert bucket.failures == 3
    assert bucket.locked_until == third + MINUTE
    assert is_locked(bucket, third)
    assert lock_remaining(bucket, third) == MINUTE
    assert lock_remaining(bucket, third + timedelta(seconds=45)) == timedelta(seconds=15)


def test_the_lock_ends_exactly_at_locked_until() -> None:
    bucket = fail(3)
    end = bucket.locked_until
    assert end is not None
    assert is_locked(bucket, end - timedelta(microseconds=1))
    assert not is_locked(bucket, end)
    assert lock_remaining(bucket, end) == timedelta(0)
    assert lock_remaining(bucket, end + MINUTE) == timedelta(0)


def test_each_further_failure_doubles_the_lock_up_to_the_cap() -> None:
    durations = [lock_duration(failures, POLICY) for failures in range(1, 10)]
    assert durations == [
        timedelta(0),
        timedelta(0),
        MINUTE,
        2 * MINUTE,
        4 * MINUTE,
        8 * MINUTE,
        10 * MINUTE,
        10 * MINUTE,
        10 * MINUTE,
    ]


def test_a_failure_while_locked_locks_again_from_now_for_longer() -> None:
    bucket = fail(3)
    now = T0 + timedelta(seconds=30)
    again = after_failure(bucket, POLICY, now)
    assert again.failures == 4
    assert again.locked_until == now + 2 * MINUTE
    assert again.last_failure_at == now


def test_endless_failures_stay_at_the_cap_without_overflowing() -> None:
    """The app-wide bucket keeps counting during a long attack (it is not forgotten while
    locked): a million failures still lock for the cap."""
    assert lock_duration(10**6, POLICY) == POLICY.cap
    attack = Policy(threshold=300, base=5 * MINUTE, cap=30 * MINUTE, forget=10 * MINUTE)
    assert lock_duration(10**6, attack) == 30 * MINUTE


def test_a_long_base_lock_stays_at_the_cap_after_many_failures() -> None:
    day = Policy(threshold=1, base=timedelta(days=1), cap=timedelta(days=1), forget=MINUTE)
    assert lock_duration(40, day) == timedelta(days=1)


def test_failures_are_forgotten_after_a_quiet_spell() -> None:
    bucket = fail(2)
    last = bucket.last_failure_at
    assert last is not None
    assert current(bucket, POLICY, last + timedelta(minutes=59)) == bucket
    assert current(bucket, POLICY, last + timedelta(hours=1)) == Bucket()
    # The next failure after the quiet spell is the first again: no lock.
    later = after_failure(bucket, POLICY, last + timedelta(hours=1))
    assert later.failures == 1
    assert later.locked_until is None


def test_a_lock_longer_than_the_quiet_spell_is_not_forgotten_while_it_runs() -> None:
    long_lock = Policy(threshold=1, base=timedelta(hours=3), cap=timedelta(hours=3), forget=MINUTE)
    bucket = fail(1, long_lock)
    assert bucket.locked_until == T0 + timedelta(hours=3)
    assert current(bucket, long_lock, T0 + timedelta(hours=2)) == bucket
    assert current(bucket, long_lock, T0 + timedelta(hours=3)) == Bucket()


def test_a_fresh_bucket_is_not_forgotten_or_locked() -> None:
    assert current(Bucket(), POLICY, T0) == Bucket()
    assert not is_locked(Bucket(), T0)
    assert lock_remaining(Bucket(), T0) == timedelta(0)


def test_a_failure_below_a_raised_threshold_keeps_the_running_lock() -> None:
    """The address policy raises its threshold when an attack on the whole app ends: a
    failure then counts below the threshold, and must not lift the lock already running."""
    strict = Policy(threshold=2, base=MINUTE, cap=10 * MINUTE, forget=timedelta(hours=1))
    relaxed = Policy(threshold=20, base=MINUTE, cap=10 * MINUTE, forget=timedelta(hours=1))
    locked = fail(2, strict)
    assert locked.locked_until is not None
    later = after_failure(locked, relaxed, T0 + timedelta(seconds=10))
    assert later.failures == 3
    assert later.locked_until == locked.locked_until


policies = st.builds(
    Policy,
    threshold=st.integers(1, 10),
    base=st.integers(1, 600).map(lambda s: timedelta(seconds=s)),
    cap=st.integers(1, 48).map(lambda h: timedelta(hours=h)),
    forget=st.integers(1, 48).map(lambda h: timedelta(hours=h)),
)


@given(policies, st.integers(0, 200))
def test_lock_durations_grow_and_never_pass_the_cap(policy: Policy, failures: int) -> None:
    duration = lock_duration(failures, policy)
    following = lock_duration(failures + 1, policy)
    assert timedelta(0) <= duration <= following <= policy.cap
    if failures < policy.threshold:
        assert duration == timedelta(0)
    else:
        doubled = policy.base.total_seconds() * 2 ** (failures - policy.threshold)
        assert duration == min(timedelta(seconds=min(doubled, 10**9)), policy.cap)
