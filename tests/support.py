"""Helpers shared by service tests: the browser cookie sign-in tickets are bound to, and
delivering queued email to read the single-use links it carries (links are minted at
delivery: the outbox itself never holds a usable one)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import Session

from billing_app.adapters.mailer import Delivery, OutgoingEmail
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import deliver_due
from billing_app.settings import Settings

BROWSER = "the-browser-cookie-of-this-test"


@dataclass
class CapturingMailer:
    sent: list[OutgoingEmail] = field(default_factory=list)

    def send(self, message: OutgoingEmail) -> Delivery:
        self.sent.append(message)
        return Delivery(transport="test")


def deliver(
    session: Session, settings: Settings | None = None, clock: Clock = system_clock
) -> list[OutgoingEmail]:
    """Commit, deliver every due email, and return what was sent."""
    session.commit()
    mailer = CapturingMailer()
    engine = session.get_bind()
    deliver_due(engine, mailer, settings=settings, clock=clock)  # type: ignore[arg-type]
    session.expire_all()
    return mailer.sent


def link_token(message: OutgoingEmail, path: str) -> str:
    match = re.search(rf"{re.escape(path)}\?token=([\w-]+)", message.text)
    assert match, f"no {path} link in {message.subject!r}"
    return match.group(1)


def delivered_token(
    session: Session,
    to_address: str,
    path: str,
    settings: Settings | None = None,
    clock: Clock = system_clock,
) -> str:
    """Deliver what is due and return the token of the newest ``path`` link sent to
    ``to_address``."""
    sent = [m for m in deliver(session, settings, clock) if m.to_address == to_address]
    assert sent, f"nothing delivered to {to_address}"
    return link_token(sent[-1], path)
