"""Payment notices for staff: a card payment received, a card payment that failed, a dispute.
Each staff member chooses on their Account page to be emailed at once, in a daily digest, or
not at all; only active members whose role may see payments are told (the figures are money).
A notice is written in the same transaction as what it tells of, so it is never sent for
something that did not happen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from billing_app.db.card_payments import StaffNotice
from billing_app.db.models import StaffUser
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser, current_user_from
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import ValidationFailed
from billing_app.services.common.outbox import WAKE_OUTBOX, enqueue_email
from billing_app.services.common.transactions import wake
from billing_app.settings import get_settings

CHOICES = {
    "off": "Never",
    "immediate": "At once, one email each",
    "daily": "Once a day, in a digest",
}
DIGEST_EVERY = timedelta(hours=20)  # a digest at most this often (the job runs every hour)
DIGEST_SPAN = timedelta(days=7)  # a first digest covers at most the last week


def _readers(session: Session, choice: str) -> list[StaffUser]:
    """Active members who chose ``choice`` and whose role may see payments."""
    members = session.exec(
        select(StaffUser)
        .where(col(StaffUser.is_active).is_(True))
        .where(col(StaffUser.payment_notices) == choice)
    ).all()
    return [m for m in members if current_user_from(session, m).can(Permission.PAYMENTS_READ)]


def notify(session: Session, kind: str, message: str, *, link: str = "", clock: Clock) -> None:
    """Tell staff: kept for the digests, and emailed now to who asked for that."""
    url = f"{get_settings().public_base_url}{link}" if link else ""
    session.add(
        StaffNotice(kind=kind, message=message[:500], link=url[:500], created_at=clock.now())
    )
    for member in _readers(session, "immediate"):
        enqueue_email(
            session,
            "payment_notice",
            member.email,
            {"name": member.name, "message": message, "link": url},
            clock=clock,
        )
    wake(session, WAKE_OUTBOX)


@dataclass(frozen=True)
class NoticeChoice:
    value: str
    options: list[tuple[str, str]]


def payment_notices_choice(session: Session, actor: CurrentUser) -> NoticeChoice:
    """The member's own choice (self-service: their account)."""
    member = session.get(StaffUser, actor.id)
    value = member.payment_notices if member is not None else "off"
    return NoticeChoice(value=value, options=list(CHOICES.items()))


def set_payment_notices(session: Session, actor: CurrentUser, choice: str) -> None:
    """How the member wants to hear of payments (their own account only)."""
    if choice not in CHOICES:
        msg = "Choose how to be told about payments."
        raise ValidationFailed(msg, field="payment_notices")
    member = session.get(StaffUser, actor.id)
    if member is None:
        return
    member.payment_notices = choice
    session.add(member)


def send_digests(session: Session, *, clock: Clock = system_clock) -> int:
    """Email each member who chose the daily digest what happened since their last one (none
    when nothing did); how many digests were queued."""
    now = clock.now()
    sent = 0
    for member in _readers(session, "daily"):
        last = member.notices_digested_at
        if last is not None and now - last < DIGEST_EVERY:
            continue
        since = max(last, now - DIGEST_SPAN) if last is not None else now - DIGEST_SPAN
        notices = session.exec(
            select(StaffNotice)
            .where(col(StaffNotice.created_at) > since)
            .where(col(StaffNotice.created_at) <= now)
            .order_by(col(StaffNotice.created_at))
        ).all()
        member.notices_digested_at = now
        session.add(member)
        if not notices:
            continue
        enqueue_email(
            session,
            "payment_digest",
            member.email,
            {
                "name": member.name,
                "count": len(notices),
                "items": [{"message": n.message, "link": n.link} for n in notices],
            },
            clock=clock,
        )
        sent += 1
    if sent:
        wake(session, WAKE_OUTBOX)
    return sent
