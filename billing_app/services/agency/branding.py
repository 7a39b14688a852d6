"""Agency settings and brands (white label)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from sqlmodel import Session, col, func, select

from billing_app.adapters import storage
from billing_app.adapters.mailer import CONTROL_CHARACTERS
from billing_app.db.invoicing import AgencySettings, Brand
from billing_app.domain.errors import DomainError
from billing_app.domain.money import normalize_currency
from billing_app.domain.numbering import SequenceReset, validate_number_format
from billing_app.domain.numbers import parse_whole_number
from billing_app.services.access.identity import CurrentUser, normalize_email
from billing_app.services.common import audit
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
ONE_LINE = "Use a single line without control characters."


def agency_today(agency: AgencySettings, clock: Clock) -> date:
    """Today's date in the agency's time zone (billing dates are agency dates)."""
    return clock.now().astimezone(ZoneInfo(agency.time_zone or "UTC")).date()


def get_agency(session: Session, *, clock: Clock = system_clock) -> AgencySettings:
    """The agency settings (created with defaults on first use)."""
    row = session.get(AgencySettings, 1)
    if row is None:
        row = AgencySettings(id=1, updated_at=clock.now())
        session.add(row)
        session.flush()
    return row


@dataclass(frozen=True)
class AgencyInput:
    legal_name: str
    address: str
    tax_id: str
    email: str
    default_currency: str
    locale: str
    time_zone: str
    payment_terms_days: str
    number_format: str
    number_reset: str


def _text(
    value: str,
    field: str,
    label: str,
    limit: int,
    *,
    required: bool = False,
    header: bool = False,
) -> str:
    """`value` trimmed. A ``header`` value ends up in email headers (sender, subject, reply-to):
    it may hold no control characters (docs/security.md item 47)."""
    cleaned = value.strip()
    if header and CONTROL_CHARACTERS.search(cleaned):
        raise ValidationFailed(ONE_LINE, field=field)
    if required and not cleaned:
        msg = f"Enter {label}."
        raise ValidationFailed(msg, field=field)
    if len(cleaned) > limit:
        msg = f"Use at most {limit} characters."
        raise ValidationFailed(msg, field=field)
    return cleaned


def _header_email(value: str, field: str) -> str:
    """An optional email address that ends up in email headers ("" when left empty)."""
    cleaned = _text(value, field, "an email address", 320, header=True)
    return normalize_email(cleaned, field) if cleaned else ""


def update_agency(
    session: Session, actor: CurrentUser, data: AgencyInput, *, clock: Clock = system_clock
) -> None:
    """Validate and save the agency settings; nothing is written if any field is wrong."""
    row = get_agency(session, clock=clock)
    # The legal name is the sender of the first brand's emails.
    legal_name = _text(
        data.legal_name, "legal_name", "the agency's legal name", 200, required=True, header=True
    )
    address = _text(data.address, "address", "the address", 1000)
    tax_id = _text(data.tax_id, "tax_id", "the tax id", 64)
    email = _header_email(data.email, "email")
    try:
        currency = normalize_currency(data.default_currency)
    except DomainError as exc:
        raise ValidationFailed(exc.message, field="default_currency") from exc
    try:
        locale = str(Locale.parse(data.locale.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        msg = "Choose a language and region, e.g. en, en_GB, fr_FR."
        raise ValidationFailed(msg, field="locale") from exc
    time_zone = data.time_zone.strip()
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = "Choose a time zone, e.g. Europe/Paris."
        raise ValidationFailed(msg, field="time_zone") from exc
    terms = parse_whole_number(data.payment_terms_days, max_digits=4)
    if terms is None:
        msg = "Enter a whole number of days."
        raise ValidationFailed(msg, field="payment_terms_days")
    if not 0 <= terms <= 365:
        msg = "Payment terms are between 0 and 365 days."
        raise ValidationFailed(msg, field="payment_terms_days")
    try:
        reset = SequenceReset(data.number_reset.strip() or "never")
        validate_number_format(data.number_format.strip(), reset)
    except ValueError as exc:
        msg = "Choose when numbering restarts: never, yearly or monthly."
        raise ValidationFailed(msg, field="number_reset") from exc
    except DomainError as exc:
        raise ValidationFailed(exc.message, field="number_format") from exc
    row.legal_name, row.address, row.tax_id, row.email = legal_name, address, tax_id, email
    row.default_currency, row.locale, row.time_zone = currency, locale, time_zone
    row.payment_terms_days = terms
    row.number_format, row.number_reset = data.number_format.strip(), reset.value
    row.updated_at = clock.now()
    session.add(row)
    audit.record(session, "settings.updated", actor.actor(), target="agency", clock=clock)


def time_zones() -> list[str]:
    return sorted(available_timezones())


@dataclass(frozen=True)
class BrandInput:
    name: str
    primary_color: str
    accent_color: str
    sender_name: str
    reply_to: str
    support_email: str
    support_url: str
    email_footer: str
    custom_domain: str


def _color(value: str, field: str) -> str:
    cleaned = value.strip()
    if not HEX_COLOR.match(cleaned):
        msg = "Use a colour like #1f4b99."
        raise ValidationFailed(msg, field=field)
    return cleaned.lower()


def _clean_brand(session: Session, data: BrandInput, brand_id: int | None) -> dict[str, object]:
    # The name stands in for an empty sender name.
    name = _text(data.name, "name", "the brand's name", 120, required=True, header=True)
    clash = session.exec(select(Brand).where(func.lower(Brand.name) == name.lower())).first()
    if clash is not None and clash.id != brand_id:
        msg = f"A brand named “{name}” already exists."
        raise ValidationFailed(msg, field="name")
    domain = data.custom_domain.strip().lower().removeprefix("https://").removeprefix("http://")
    domain = domain.rstrip("/")
    if domain:
        if not DOMAIN.match(domain):
            msg = "Enter a domain name like billing.youragency.com."
            raise ValidationFailed(msg, field="custom_domain")
        taken = session.exec(select(Brand).where(col(Brand.custom_domain) == domain)).first()
        if taken is not None and taken.id != brand_id:
            msg = f"{domain} is already used by the brand “{taken.name}”."
            raise ValidationFailed(msg, field="custom_domain")
    support_url = data.support_url.strip()
    if support_url and not support_url.startswith(("https://", "http://")):
        msg = "Enter a full address starting with https://."
        raise ValidationFailed(msg, field="support_url")
    return {
        "name": name,
        "primary_color": _color(data.primary_color, "primary_color"),
        "accent_color": _color(data.accent_color, "accent_color"),
        "sender_name": (
            _text(data.sender_name, "sender_name", "a sender name", 120, header=True) or name
        ),
        "reply_to": _header_email(data.reply_to, "reply_to"),
        "support_email": _header_email(data.support_email, "support_email"),
        "support_url": _text(support_url, "support_url", "a support URL", 500),
        "email_footer": _text(data.email_footer, "email_footer", "a footer", 1000),
        "custom_domain": domain or None,
    }


def create_brand(
    session: Session, actor: CurrentUser, data: BrandInput, *, clock: Clock = system_clock
) -> int:
    values = _clean_brand(session, data, None)
    now = clock.now()
    first = session.exec(select(func.count()).select_from(Brand)).one() == 0
    brand = Brand(**values, is_default=first, created_at=now, updated_at=now)  # type: ignore[arg-type]
    session.add(brand)
    session.flush()
    audit.record(session, "brand.created", actor.actor(), target=brand.name, clock=clock)
    assert brand.id is not None
    return brand.id


def update_brand(
    session: Session,
    actor: CurrentUser,
    brand_id: int,
    data: BrandInput,
    *,
    clock: Clock = system_clock,
) -> None:
    brand = get_brand(session, brand_id)
    for key, value in _clean_brand(session, data, brand_id).items():
        setattr(brand, key, value)
    brand.updated_at = clock.now()
    session.add(brand)
    audit.record(session, "brand.updated", actor.actor(), target=brand.name, clock=clock)


def set_logo(
    session: Session,
    actor: CurrentUser,
    brand_id: int,
    logo_key: str,
    *,
    clock: Clock = system_clock,
) -> None:
    brand = get_brand(session, brand_id)
    brand.logo_key = logo_key
    brand.updated_at = clock.now()
    session.add(brand)
    audit.record(session, "brand.logo_changed", actor.actor(), target=brand.name, clock=clock)


def upload_logo(
    session: Session, actor: CurrentUser, brand_id: int, data: bytes, *, clock: Clock = system_clock
) -> None:
    """Check and store an uploaded logo privately, and make it the brand's."""
    get_brand(session, brand_id)
    try:
        key = storage.save_logo(data)
    except storage.StorageError as exc:
        raise ValidationFailed(str(exc), field="logo") from exc
    set_logo(session, actor, brand_id, key, clock=clock)


def make_default(
    session: Session, actor: CurrentUser, brand_id: int, *, clock: Clock = system_clock
) -> None:
    brand = get_brand(session, brand_id)
    for other in session.exec(select(Brand).where(col(Brand.is_default).is_(True))):
        other.is_default = False
        session.add(other)
    session.flush()
    brand.is_default = True
    session.add(brand)
    audit.record(session, "brand.made_default", actor.actor(), target=brand.name, clock=clock)


def get_brand(session: Session, brand_id: int) -> Brand:
    brand = session.get(Brand, brand_id)
    if brand is None:
        msg = "That brand does not exist."
        raise NotFound(msg)
    return brand


def default_brand(session: Session, *, clock: Clock = system_clock) -> Brand:
    """The default brand; a first one named after the agency is made if none exists yet."""
    brand = session.exec(select(Brand).where(col(Brand.is_default).is_(True))).first()
    if brand is not None:
        return brand
    brand = session.exec(select(Brand).order_by(col(Brand.id))).first()
    if brand is not None:
        brand.is_default = True
        session.add(brand)
        return brand
    agency = get_agency(session, clock=clock)
    now = clock.now()
    brand = Brand(
        name=agency.legal_name or "Our agency",
        sender_name=agency.legal_name or "Billing",
        is_default=True,
        created_at=now,
        updated_at=now,
    )
    session.add(brand)
    session.flush()
    return brand


def assign_client_brand(
    session: Session,
    actor: CurrentUser,
    client_id: int,
    brand_id: int | None,
    *,
    clock: Clock = system_clock,
) -> None:
    """Give a client its brand (None: the default brand). New invoices, emails and the portal
    use it; invoices already sent keep the brand they were sent with."""
    from billing_app.db.customers import Client

    client = session.get(Client, client_id)
    if client is None:
        msg = "That client does not exist."
        raise NotFound(msg)
    label = "default brand"
    if brand_id is not None:
        label = get_brand(session, brand_id).name
    client.brand_id = brand_id
    session.add(client)
    audit.record(
        session,
        "client.brand_changed",
        actor.actor(),
        target=client.email,
        details=label,
        clock=clock,
    )


def list_brands(session: Session) -> list[Brand]:
    return list(session.exec(select(Brand).order_by(col(Brand.is_default).desc(), col(Brand.name))))


def delete_brand(
    session: Session, actor: CurrentUser, brand_id: int, *, clock: Clock = system_clock
) -> None:
    """Brands that were ever used (clients, invoices) or are the default stay."""
    from billing_app.db.invoicing import Invoice

    brand = get_brand(session, brand_id)
    if brand.is_default:
        msg = "The default brand cannot be deleted. Make another brand the default first."
        raise Conflict(msg)
    used = session.exec(
        select(func.count()).select_from(Invoice).where(col(Invoice.brand_id) == brand_id)
    ).one()
    if used:
        msg = f"“{brand.name}” is on {used} invoice(s) and stays for their history."
        raise Conflict(msg)
    session.delete(brand)
    audit.record(session, "brand.deleted", actor.actor(), target=brand.name, clock=clock)
