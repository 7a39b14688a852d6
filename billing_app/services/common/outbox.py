"""The durable email outbox (docs/architecture.md): messages are written in the same transaction as
the change that causes them; delivery drains the table, retrying with backoff. Nothing is lost:
a message that keeps failing is marked dead, stays visible and can be retried by hand."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.adapters import crypto, documents
from billing_app.adapters.email_templates import render_email
from billing_app.adapters.mailer import Mailer, OutgoingEmail, SmtpConfig, SmtpMailer
from billing_app.db.card_payments import PAY_LINK_PURPOSE, PayLink
from billing_app.db.invoicing import Brand
from billing_app.db.models import Invitation, OutboxEmail, PasswordReset
from billing_app.db.portal import PortalInvitation, PortalPasswordReset
from billing_app.domain.permissions import Permission
from billing_app.i18n import DEFAULT_LOCALE, gettext
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import NotFound
from billing_app.services.common.listing import ListRequest, Page, keyset_page, like_pattern
from billing_app.services.common.tokens import new_token, token_digest
from billing_app.services.common.transactions import wake
from billing_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

# A claimed message whose delivery never reported back (crash) is retried after this.
CLAIM_TIMEOUT = timedelta(minutes=10)
DUE_STATUSES = ("queued", "failed", "sending")
# The job that delivers (woken once a transaction that queued email commits).
WAKE_OUTBOX = "outbox"
# Stands in a stored body for the token of a single-use link (docs/security.md item 37): the
# outbox, the Emails page and backups never hold a usable link. URL- and HTML-safe as is.
SECRET_PLACEHOLDER = "OUTBOX-LINK-TOKEN"


# What a brand's SMTP password is encrypted for (adapters/crypto.py).
SMTP_PASSWORD_PURPOSE = "brand-smtp"
SMTP_SECURITIES = ("starttls", "ssl", "none")


def brand_smtp_config(brand: Brand, settings: Settings | None = None) -> SmtpConfig | None:
    """The brand's own SMTP server, or None when it sends through the app's transport. A port
    of 0 is the usual one for the security chosen (465 for SSL, else 587)."""
    if not brand.smtp_host:
        return None
    security = brand.smtp_security if brand.smtp_security in SMTP_SECURITIES else "starttls"
    password = ""
    if brand.smtp_password:
        password = crypto.decrypt(brand.smtp_password, purpose=SMTP_PASSWORD_PURPOSE)
    return SmtpConfig(
        host=brand.smtp_host,
        port=brand.smtp_port or (465 if security == "ssl" else 587),
        security=security,
        username=brand.smtp_username,
        password=password,
        timeout_seconds=(settings or get_settings()).smtp_timeout_seconds,
    )


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: 1, 2, 4, 8 ... minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def enqueue_email(
    session: Session,
    kind: str,
    to_address: str,
    context: dict[str, Any],
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    from_name: str = "",
    from_address: str = "",
    brand_id: int | None = None,
    reply_to: str = "",
    attachment: tuple[str, str] | None = None,
    secret: tuple[str, int | None] | None = None,
    locale: str | None = DEFAULT_LOCALE,
) -> OutboxEmail:
    """Render a message and queue it in the caller's transaction.

    ``from_name``/``from_address``/``reply_to`` override the configured sender (a brand's
    identity) and ``brand_id`` names the brand whose SMTP server, if it has one, delivers it;
    ``attachment`` is (storage key, file name) of a document in private storage; ``secret``
    is (a kind of _SECRET_ROWS, row id) for a message whose link carries
    ``SECRET_PLACEHOLDER`` where the token goes: the token is minted at delivery. ``locale``
    is the recipient's language (docs/architecture.md, Decisions: languages): a client's for
    invoice messages; English for staff, who have no language setting yet."""
    if secret is not None and (secret[0] not in _SECRET_ROWS or secret[1] is None):
        msg = f"unknown secret reference {secret!r}"
        raise ValueError(msg)
    settings = settings or get_settings()
    ctx = {
        "sender_name": settings.mail_from_name,
        "footer": gettext("Sent by {sender_name}.", locale=locale).format(
            sender_name=settings.mail_from_name
        ),
        **context,
    }
    rendered = render_email(kind, ctx, locale=locale)
    now = clock.now()
    row = OutboxEmail(
        kind=kind,
        to_address=to_address,
        subject=rendered.subject[:300],
        body_text=rendered.text,
        body_html=rendered.html,
        status="queued",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        from_name=from_name[:120],
        from_address=from_address[:320],
        brand_id=brand_id,
        reply_to=reply_to[:320],
        attachment_key=attachment[0] if attachment else "",
        attachment_name=attachment[1][:200] if attachment else "",
        secret_kind=secret[0] if secret else "",
        secret_ref=secret[1] if secret else None,
    )
    session.add(row)
    session.flush()
    wake(session, WAKE_OUTBOX)
    return row


_SECRET_ROWS: dict[
    str,
    type[PasswordReset]
    | type[Invitation]
    | type[PortalInvitation]
    | type[PortalPasswordReset]
    | type[PayLink],
] = {
    "password_reset": PasswordReset,
    "invitation": Invitation,
    "portal_invitation": PortalInvitation,
    "portal_reset": PortalPasswordReset,
    "pay_link": PayLink,
}


class LinkNoLongerValid(Exception):
    """The reset or invitation a queued message stands for was used, revoked or expired."""


def _mint_secret(
    session: Session, row: OutboxEmail, now: datetime, settings: Settings | None = None
) -> str | None:
    """A fresh token for the row a message links to, stored hashed on that row; the link
    sent before it (a retry) stops working. None for a message without a secret link."""
    if not row.secret_kind:
        return None
    target = session.get(_SECRET_ROWS[row.secret_kind], row.secret_ref) if row.secret_ref else None
    if isinstance(target, PayLink):
        # An invoice's pay link is the same in every email (not single use): its token is
        # unsealed, never replaced. An expired one still goes out (its page says so).
        return crypto.decrypt(target.token_sealed, purpose=PAY_LINK_PURPOSE, settings=settings)
    if isinstance(target, PasswordReset | PortalPasswordReset):
        live = target.used_at is None and target.expires_at > now
    elif isinstance(target, Invitation | PortalInvitation):
        live = target.accepted_at is None and target.revoked_at is None
        live = live and target.expires_at > now
    else:
        live = False
    if target is None or not live:
        raise LinkNoLongerValid
    token = new_token()
    target.token_hash = token_digest(token)
    session.add(target)
    return token


def _with_secret(text: str, token: str | None) -> str:
    return text.replace(SECRET_PLACEHOLDER, token) if token else text


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int


def _claim(session: Session, email_id: int, now: datetime) -> bool:
    result = session.execute(
        sa.update(OutboxEmail)
        .where(col(OutboxEmail.id) == email_id)
        .where(col(OutboxEmail.status).in_(DUE_STATUSES))
        .where(col(OutboxEmail.next_attempt_at) <= now)
        .values(
            status="sending",
            attempts=OutboxEmail.attempts + 1,
            next_attempt_at=now + CLAIM_TIMEOUT,
        )
    )
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _attachments(row: OutboxEmail) -> tuple[tuple[str, str, bytes], ...]:
    if not row.attachment_key:
        return ()
    data = documents.read_document(row.attachment_key)
    if data is None:
        msg = f"the attachment {row.attachment_name} is missing from storage"
        raise FileNotFoundError(msg)
    return ((row.attachment_name, documents.content_type(row.attachment_key), data),)


def deliver_due(
    engine: sa.Engine,
    mailer: Mailer,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    limit: int = 50,
) -> DeliveryReport:
    """Deliver the messages that are due. Safe to run from several workers at once."""
    settings = settings or get_settings()
    sent = failed = 0
    brand_mailers: dict[int, Mailer | None] = {}

    def mailer_for(session: Session, row: OutboxEmail) -> Mailer:
        """The brand's own server when it has one, else the app's transport."""
        if row.brand_id is None:
            return mailer
        if row.brand_id not in brand_mailers:
            brand = session.get(Brand, row.brand_id)
            config = brand_smtp_config(brand, settings) if brand is not None else None
            brand_mailers[row.brand_id] = SmtpMailer(config) if config is not None else None
        return brand_mailers[row.brand_id] or mailer

    with Session(engine, expire_on_commit=False) as session:
        now = clock.now()
        due_ids = session.exec(
            select(OutboxEmail.id)
            .where(col(OutboxEmail.status).in_(DUE_STATUSES))
            .where(col(OutboxEmail.next_attempt_at) <= now)
            .order_by(col(OutboxEmail.id))
            .limit(limit)
        ).all()
        for email_id in due_ids:
            assert email_id is not None
            if not _claim(session, email_id, clock.now()):
                continue
            row = session.get(OutboxEmail, email_id)
            assert row is not None
            session.refresh(row)
            try:
                token = _mint_secret(session, row, clock.now(), settings)
                message = OutgoingEmail(
                    id=email_id,
                    to_address=row.to_address,
                    subject=row.subject,
                    text=_with_secret(row.body_text, token),
                    html=_with_secret(row.body_html, token),
                    from_name=row.from_name or settings.mail_from_name,
                    from_address=row.from_address or settings.mail_from,
                    reply_to=row.reply_to,
                    attachments=_attachments(row),
                )
                delivery = mailer_for(session, row).send(message)
            except LinkNoLongerValid:
                # Nothing to deliver any more: a newer link, a reset done, an invitation
                # revoked. Kept (as dead) so the Emails page says what happened.
                row.status = "dead"
                row.last_error = "Not sent: the link it carries is no longer valid."
                log.info("email %s dropped: its link is no longer valid", email_id)
            except Exception as exc:  # noqa: BLE001 - any transport failure is retried
                failed += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                if row.attempts >= settings.outbox_max_attempts:
                    row.status = "dead"
                else:
                    row.status = "failed"
                    row.next_attempt_at = clock.now() + retry_delay(row.attempts)
                log.warning("email %s delivery failed: %s", email_id, row.last_error)
            else:
                sent += 1
                row.status = "sent"
                row.sent_at = clock.now()
                row.transport = delivery.transport
                row.file_path = delivery.file_path
                row.last_error = ""
            session.add(row)
            session.commit()
    return DeliveryReport(sent=sent, failed=failed)


def retry_now(
    session: Session, actor: Acting, email_id: int, *, clock: Clock = system_clock
) -> None:
    """Put a failed or dead message back in the queue for immediate delivery."""
    require(actor, Permission.SETTINGS_WRITE)
    row = session.get(OutboxEmail, email_id)
    if row is None:
        msg = "That email does not exist."
        raise NotFound(msg)
    if row.status == "sent":
        return
    row.status = "queued"
    row.next_attempt_at = clock.now()
    if row.attempts >= get_settings().outbox_max_attempts:
        row.attempts = 0
    session.add(row)
    wake(session, WAKE_OUTBOX)


@dataclass(frozen=True)
class EmailRow:
    id: int
    created_at: datetime
    kind: str
    to_address: str
    subject: str
    status: str
    attempts: int
    last_error: str
    sent_at: datetime | None
    next_attempt_at: datetime
    transport: str


@dataclass(frozen=True)
class EmailDetail:
    row: EmailRow
    body_text: str
    body_html: str


def _to_row(r: OutboxEmail) -> EmailRow:
    return EmailRow(
        id=r.id or 0,
        created_at=r.created_at,
        kind=r.kind,
        to_address=r.to_address,
        subject=r.subject,
        status=r.status,
        attempts=r.attempts,
        last_error=r.last_error,
        sent_at=r.sent_at,
        next_attempt_at=r.next_attempt_at,
        transport=r.transport,
    )


EMAIL_STATUSES = ("queued", "sending", "sent", "failed", "dead")
WAITING_STATUSES = ("queued", "sending", "failed")  # not delivered yet, still being tried
FAILED_STATUSES = ("failed", "dead")


def list_emails(session: Session, viewer: Acting, request: ListRequest) -> Page[EmailRow]:
    """A page of messages, newest first (filter "status"; search by recipient or subject)."""
    require(viewer, Permission.EMAILS_VIEW)
    conditions: list[Any] = []
    status = request.filter("status")
    if status in EMAIL_STATUSES:
        conditions.append(col(OutboxEmail.status) == status)
    if request.term:
        like = like_pattern(request.term)
        conditions.append(
            sa.or_(
                func.lower(col(OutboxEmail.to_address)).like(like, escape="\\"),
                func.lower(col(OutboxEmail.subject)).like(like, escape="\\"),
            )
        )
    page = keyset_page(
        session,
        sa.select(OutboxEmail).where(*conditions),
        sa.select(func.count()).select_from(OutboxEmail).where(*conditions),
        [col(OutboxEmail.id)],
        replace(request, descending=True),
    )
    return page.map(_to_row)


_SECRET_LINK = re.compile(r"([?&]token=)[\w-]+")


def redact_secrets(body: str) -> str:
    """Hide single-use tokens: whoever may read the outbox must not be able to use another
    person's reset or invitation link."""
    return _SECRET_LINK.sub(r"\1[hidden]", body)


def get_email(session: Session, viewer: Acting, email_id: int) -> EmailDetail:
    """A message as the Emails page shows it, with its one-time links hidden."""
    require(viewer, Permission.EMAILS_VIEW)
    row = session.get(OutboxEmail, email_id)
    if row is None:
        msg = "That email does not exist."
        raise NotFound(msg)
    return EmailDetail(
        row=_to_row(row),
        body_text=redact_secrets(row.body_text),
        body_html=redact_secrets(row.body_html),
    )
