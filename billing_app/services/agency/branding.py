"""Agency settings and brands (white label)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from sqlmodel import Session, col, func, select

from billing_app.adapters import storage
from billing_app.db.invoicing import AgencySettings, Brand
from billing_app.domain.bank import DETAILS_MAX, HOLDER_MAX, clean_bic, clean_iban
from billing_app.domain.money import normalize_currency
from billing_app.domain.numbering import SequenceReset, validate_number_format
from billing_app.domain.numbers import parse_whole_number
from billing_app.domain.permissions import Permission
from billing_app.services.agency import agency_cache
from billing_app.services.agency.fields import clean_sending, header_email, text_field
from billing_app.services.agency.numbering_settings import (
    catch_up_limit,
    credit_note_numbering,
    number_reset,
)
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import (
    Conflict,
    FieldChecks,
    NotFound,
    ValidationFailed,
)

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def agency_today(agency: AgencySettings, clock: Clock) -> date:
    """Today's date in the agency's time zone (billing dates are agency dates)."""
    return clock.now().astimezone(ZoneInfo(agency.time_zone or "UTC")).date()


def today_at_agency(session: Session, *, clock: Clock = system_clock) -> date:
    """Today's date in the agency's time zone, read from the settings this process keeps."""
    kept = agency_cache.snapshot(session)
    if kept is None:
        return agency_today(get_agency(session, clock=clock), clock)
    return clock.now().astimezone(ZoneInfo(kept.time_zone)).date()


def get_agency(session: Session, *, clock: Clock = system_clock) -> AgencySettings:
    """The agency settings (created with defaults on first use), for use cases that checked
    their actor and for documents (not checked here; pages call ``agency_settings``)."""
    row = session.get(AgencySettings, 1)
    if row is None:
        row = AgencySettings(id=1, updated_at=clock.now())
        session.add(row)
        session.flush()
    return row


def agency_settings(
    session: Session, viewer: Acting, *, clock: Clock = system_clock
) -> AgencySettings:
    """The agency settings, to show them."""
    require(viewer, Permission.SETTINGS_READ)
    return get_agency(session, clock=clock)


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
    # Credit notes' own numbering (None: left as it is).
    credit_note_format: str | None = None
    credit_note_reset: str | None = None
    renewal_catch_up: str = "3"  # missed periods billed per subscription after downtime
    auto_charge: str = "on"  # "on": renewal invoices charged at once to the default card


def _locale(value: str) -> str:
    try:
        return str(Locale.parse(value.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        msg = "Choose a language and region, e.g. en, en_GB, fr_FR."
        raise ValidationFailed(msg, field="locale") from exc


def _time_zone(value: str) -> str:
    time_zone = value.strip()
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = "Choose a time zone, e.g. Europe/Paris."
        raise ValidationFailed(msg, field="time_zone") from exc
    return time_zone


def _payment_terms(value: str) -> int:
    terms = parse_whole_number(value, max_digits=4)
    if terms is None:
        msg = "Enter a whole number of days."
        raise ValidationFailed(msg, field="payment_terms_days")
    if not 0 <= terms <= 365:
        msg = "Payment terms are between 0 and 365 days."
        raise ValidationFailed(msg, field="payment_terms_days")
    return terms


def update_agency(
    session: Session, actor: Acting, data: AgencyInput, *, clock: Clock = system_clock
) -> None:
    """Validate and save the agency settings; nothing is written if any field is wrong, and
    every field's problem is reported at once."""
    require(actor, Permission.SETTINGS_WRITE)
    row = get_agency(session, clock=clock)
    checks = FieldChecks()
    # The legal name is the sender of the first brand's emails.
    legal_name = checks.value(
        "legal_name",
        "",
        text_field,
        data.legal_name,
        "legal_name",
        "the agency's legal name",
        200,
        required=True,
        header=True,
    )
    address = checks.value("address", "", text_field, data.address, "address", "the address", 1000)
    tax_id = checks.value("tax_id", "", text_field, data.tax_id, "tax_id", "the tax id", 64)
    email = checks.value("email", "", header_email, data.email, "email")
    currency = checks.value("default_currency", "", normalize_currency, data.default_currency)
    locale = checks.value("locale", "", _locale, data.locale)
    time_zone = checks.value("time_zone", "", _time_zone, data.time_zone)
    terms = checks.value("payment_terms_days", 0, _payment_terms, data.payment_terms_days)
    reset = checks.value("number_reset", SequenceReset.NEVER, number_reset, data.number_reset)
    number_format = data.number_format.strip()
    # While the reset is wrong, the format is checked as if numbering never restarted.
    checks.value("number_format", None, validate_number_format, number_format, reset)
    credit_format, credit_reset = credit_note_numbering(
        checks, row, data.credit_note_format, data.credit_note_reset, number_format
    )
    catch_up = checks.value("renewal_catch_up", 3, catch_up_limit, data.renewal_catch_up or "3")
    checks.raise_if_failed()
    row.renewal_catch_up, row.auto_charge = catch_up, data.auto_charge == "on"
    row.legal_name, row.address, row.tax_id, row.email = legal_name, address, tax_id, email
    row.default_currency, row.locale, row.time_zone = currency, locale, time_zone
    row.payment_terms_days = terms
    row.number_format, row.number_reset = number_format, reset.value
    row.credit_note_format, row.credit_note_reset = credit_format, credit_reset
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
    bank_account_holder: str = ""
    bank_iban: str = ""
    bank_bic: str = ""
    bank_details: str = ""
    mail_from: str = ""
    smtp_host: str = ""
    smtp_port: str = ""
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""  # "" keeps the stored one (it is never shown again)


def _color(value: str, field: str) -> str:
    cleaned = value.strip()
    if not HEX_COLOR.match(cleaned):
        msg = "Use a colour like #1f4b99."
        raise ValidationFailed(msg, field=field)
    return cleaned.lower()


def _custom_domain(session: Session, value: str, brand_id: int | None) -> str:
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://")
    domain = domain.rstrip("/")
    if domain:
        if not DOMAIN.match(domain):
            msg = "Enter a domain name like billing.youragency.com."
            raise ValidationFailed(msg, field="custom_domain")
        taken = session.exec(select(Brand).where(col(Brand.custom_domain) == domain)).first()
        if taken is not None and taken.id != brand_id:
            msg = f"{domain} is already used by the brand “{taken.name}”."
            raise ValidationFailed(msg, field="custom_domain")
    return domain


def _support_url(value: str) -> str:
    support_url = value.strip()
    if support_url and not support_url.startswith(("https://", "http://")):
        msg = "Enter a full address starting with https://."
        raise ValidationFailed(msg, field="support_url")
    return text_field(support_url, "support_url", "a support URL", 500)


def _clean_brand(session: Session, data: BrandInput, brand_id: int | None) -> dict[str, object]:
    """The brand's values; one ValidationFailed names every field with a problem."""
    checks = FieldChecks()
    # The name stands in for an empty sender name.
    name = checks.value(
        "name",
        "",
        text_field,
        data.name,
        "name",
        "the brand's name",
        120,
        required=True,
        header=True,
    )
    if name:
        clash = session.exec(select(Brand).where(func.lower(Brand.name) == name.lower())).first()
        if clash is not None and clash.id != brand_id:
            checks.add("name", f"A brand named “{name}” already exists.")
    domain = checks.value(
        "custom_domain", "", _custom_domain, session, data.custom_domain, brand_id
    )
    support_url = checks.value("support_url", "", _support_url, data.support_url)
    values: dict[str, object] = {
        "name": name,
        "primary_color": checks.value(
            "primary_color", "", _color, data.primary_color, "primary_color"
        ),
        "accent_color": checks.value("accent_color", "", _color, data.accent_color, "accent_color"),
        "sender_name": (
            checks.value(
                "sender_name",
                "",
                text_field,
                data.sender_name,
                "sender_name",
                "a sender name",
                120,
                header=True,
            )
            or name
        ),
        "reply_to": checks.value("reply_to", "", header_email, data.reply_to, "reply_to"),
        "support_email": checks.value(
            "support_email", "", header_email, data.support_email, "support_email"
        ),
        "support_url": support_url,
        "email_footer": checks.value(
            "email_footer", "", text_field, data.email_footer, "email_footer", "a footer", 1000
        ),
        "custom_domain": domain or None,
        "bank_account_holder": checks.value(
            "bank_account_holder",
            "",
            text_field,
            data.bank_account_holder,
            "bank_account_holder",
            "an account holder",
            HOLDER_MAX,
            header=True,  # one line, printed as is on PDFs
        ),
        "bank_iban": checks.value("bank_iban", "", clean_iban, data.bank_iban),
        "bank_bic": checks.value("bank_bic", "", clean_bic, data.bank_bic),
        "bank_details": checks.value(
            "bank_details",
            "",
            text_field,
            data.bank_details,
            "bank_details",
            "bank details",
            DETAILS_MAX,
        ),
    }
    values.update(
        clean_sending(
            checks,
            mail_from=data.mail_from,
            host=data.smtp_host,
            port=data.smtp_port,
            security=data.smtp_security,
            username=data.smtp_username,
            password=data.smtp_password,
        )
    )
    checks.raise_if_failed()
    return values


def create_brand(
    session: Session, actor: Acting, data: BrandInput, *, clock: Clock = system_clock
) -> int:
    require(actor, Permission.BRANDING_WRITE)
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
    actor: Acting,
    brand_id: int,
    data: BrandInput,
    *,
    clock: Clock = system_clock,
) -> None:
    require(actor, Permission.BRANDING_WRITE)
    brand = get_brand(session, brand_id)
    for key, value in _clean_brand(session, data, brand_id).items():
        setattr(brand, key, value)
    brand.updated_at = clock.now()
    session.add(brand)
    audit.record(session, "brand.updated", actor.actor(), target=brand.name, clock=clock)


def set_logo(
    session: Session,
    actor: Acting,
    brand_id: int,
    logo_key: str,
    *,
    clock: Clock = system_clock,
) -> None:
    require(actor, Permission.BRANDING_WRITE)
    brand = get_brand(session, brand_id)
    brand.logo_key = logo_key
    brand.updated_at = clock.now()
    session.add(brand)
    audit.record(session, "brand.logo_changed", actor.actor(), target=brand.name, clock=clock)


def upload_logo(
    session: Session, actor: Acting, brand_id: int, data: bytes, *, clock: Clock = system_clock
) -> None:
    """Check and store an uploaded logo privately, and make it the brand's."""
    require(actor, Permission.BRANDING_WRITE)
    get_brand(session, brand_id)
    try:
        key = storage.save_logo(data)
    except storage.StorageError as exc:
        raise ValidationFailed(str(exc), field="logo") from exc
    set_logo(session, actor, brand_id, key, clock=clock)


def make_default(
    session: Session, actor: Acting, brand_id: int, *, clock: Clock = system_clock
) -> None:
    require(actor, Permission.BRANDING_WRITE)
    brand = get_brand(session, brand_id)
    for other in session.exec(select(Brand).where(col(Brand.is_default).is_(True))):
        other.is_default = False
        session.add(other)
    session.flush()
    brand.is_default = True
    session.add(brand)
    audit.record(session, "brand.made_default", actor.actor(), target=brand.name, clock=clock)


def get_brand(session: Session, brand_id: int) -> Brand:
    """The brand, for use cases that checked their actor and for documents (not checked here;
    pages call ``brand_detail``)."""
    brand = session.get(Brand, brand_id)
    if brand is None:
        msg = "That brand does not exist."
        raise NotFound(msg)
    return brand


def default_brand(session: Session, *, clock: Clock = system_clock) -> Brand:
    """The default brand; a first one named after the agency is made if none exists yet. For
    use cases that checked their actor and for documents (not checked here)."""
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
    actor: Acting,
    client_id: int,
    brand_id: int | None,
    *,
    clock: Clock = system_clock,
) -> None:
    """Give a client its brand (None: the default brand). New invoices, emails and the portal
    use it; invoices already sent keep the brand they were sent with."""
    require(actor, Permission.CLIENTS_WRITE)
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
    """Every brand, the default first (not checked here: pages call ``brands_page`` or
    ``brand_choices``)."""
    return list(session.exec(select(Brand).order_by(col(Brand.is_default).desc(), col(Brand.name))))


def brands_page(session: Session, viewer: Acting, *, clock: Clock = system_clock) -> list[Brand]:
    """The brands page: every brand, the default first (made from the agency if none exists)."""
    require(viewer, Permission.SETTINGS_READ)
    default_brand(session, clock=clock)
    session.flush()
    return list_brands(session)


def brand_detail(session: Session, viewer: Acting, brand_id: int) -> Brand:
    """One brand, to show and edit it."""
    require(viewer, Permission.SETTINGS_READ)
    return get_brand(session, brand_id)


def brand_choices(session: Session, viewer: Acting) -> list[Brand]:
    """The brands a client may be given, the default first: shown on the client's page to
    whoever may see the client."""
    require(viewer, Permission.CLIENTS_READ)
    return list_brands(session)


def delete_brand(
    session: Session, actor: Acting, brand_id: int, *, clock: Clock = system_clock
) -> None:
    """Brands that were ever used (clients, invoices) or are the default stay."""
    require(actor, Permission.BRANDING_WRITE)
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
