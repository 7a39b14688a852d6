"""Every form reports every field's problem at once, and writes nothing when there is one: a
person who got three fields wrong sees all three after one save, each under its field."""

from __future__ import annotations

import dataclasses

import pyotp
import pytest
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client, Product, Subscription, TaxRateRow
from billing_app.db.invoicing import Brand
from billing_app.db.models import CustomRole, Invitation, StaffUser
from billing_app.services.access import account, auth, password_reset, roles, team
from billing_app.services.agency import branding
from billing_app.services.catalog import products as catalog
from billing_app.services.catalog import subscriptions, tax_rates
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import ValidationFailed
from billing_app.services.common.tokens import verify_password
from billing_app.services.customers import clients
from billing_app.settings import Settings
from tests.support import delivered_token

from .test_account import me
from .test_auth import PASSWORD, make_owner
from .test_clients import ADMIN, add_client, add_product, client_input
from .test_subscriptions import START
from .test_team import as_user, invite_link, join

BAD_EMAIL = "Enter a valid email address (An email address must have an @-sign.)."
BAD_CURRENCY = "'EURO' is not a currency code; use a three-letter ISO 4217 code such as EUR."
DIFFER = "The two passwords differ."


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


# --------------------------------------------------------------------------- clients


def test_client_form_reports_every_bad_field_and_writes_nothing(
    session: Session, clock: FixedClock
) -> None:
    data = client_input(
        company="  ",
        email="not-an-email",
        currency="EURO",
        country="France",
        status="gone",
        phone="0" * 51,
        locale="klingon",
        tax_id="T" * 65,
        notes="n" * 5001,
        websites=[clients.WebsiteInput(name="Blog", url="not a url")],
    )
    with pytest.raises(ValidationFailed) as caught:
        clients.create_client(session, ADMIN, data, clock=clock)
    assert caught.value.errors == {
        "company": "Enter the company name.",
        "email": BAD_EMAIL,
        "currency": BAD_CURRENCY,
        "country": "Use the two-letter country code, such as FR or US.",
        "status": "Choose active or inactive.",
        "websites": "'not a url' is not a website address (such as https://example.com).",
        "phone": "Phone: use at most 50 characters.",
        "locale": "'klingon' is not a known language (use a code such as en, fr or de_CH).",
        "tax_id": "Tax ID: use at most 64 characters.",
        "notes": "Internal notes: use at most 5,000 characters.",
    }
    # The first problem stays the error's message and field.
    assert (caught.value.field, caught.value.message) == ("company", "Enter the company name.")
    session.rollback()
    assert count(session, Client) == 0


def test_client_edit_reports_form_and_stored_data_problems_together(
    session: Session, clock: FixedClock
) -> None:
    add_client(session, clock, company="Other", email="taken@acme.test")
    client = add_client(
        session, clock, websites=[clients.WebsiteInput(name="Shop", url="shop.acme.test")]
    )
    assert client.id is not None
    site = clients.websites_of(session, client.id)[0]
    subscriptions.attach(
        session,
        ADMIN,
        subscriptions.AttachInput(
            client_id=client.id,
            product_id=add_product(session, clock),
            start_date=START,
            website_id=site.id,
        ),
        clock=clock,
    )
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        clients.update_client(
            session,
            ADMIN,
            client.id,
            client_input(
                company="Renamed Bakery",
                email="TAKEN@acme.test",
                currency="USD",
                city="C" * 121,
                websites=[],
            ),
            clock=clock,
        )
    assert caught.value.errors == {
        "city": "City: use at most 120 characters.",
        "email": "A client with the email taken@acme.test exists.",
        "currency": "This client has subscriptions in EUR: its currency cannot change.",
        "websites": "The website Shop has subscriptions: it cannot be removed.",
    }
    session.rollback()
    stored = session.get(Client, client.id)
    assert stored is not None
    session.refresh(stored)
    assert (stored.company, stored.email, stored.currency) == (
        "Acme Bakery",
        "billing@acme.test",
        "EUR",
    )
    assert [w.name for w in clients.websites_of(session, client.id)] == ["Shop"]


# --------------------------------------------------------------------------- catalog


def test_product_form_reports_every_bad_field_and_writes_nothing(
    session: Session, clock: FixedClock
) -> None:
    data = catalog.ProductInput(
        name="  ",
        description="d" * 5001,
        price="abc",
        currency="EURO",
        interval_unit="fortnight",
        interval_count="0",
        tax_rate_ids=[987],
    )
    with pytest.raises(ValidationFailed) as caught:
        catalog.create_product(session, ADMIN, data, clock=clock)
    assert caught.value.errors == {
        "name": "Give the product a name.",
        "description": "Use at most 5,000 characters.",
        "currency": BAD_CURRENCY,
        # The currency is wrong, so the price is only checked to be an amount.
        "price": "Enter the price as an amount, such as 25.00.",
        "interval_unit": "Choose days, weeks, months or years.",
        "interval_count": "The interval is a whole number from 1 to 1000.",
        "tax_rate_ids": "Choose tax rates from the list.",
    }
    session.rollback()
    assert count(session, Product) == 0


def test_product_price_is_checked_in_its_currency_alongside_other_fields(
    session: Session, clock: FixedClock
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        catalog.create_product(
            session,
            ADMIN,
            catalog.ProductInput(
                name="N" * 201, price="12.345", currency="eur", interval_count="x"
            ),
            clock=clock,
        )
    assert caught.value.errors == {
        "name": "Use at most 200 characters.",
        "price": "EUR amounts have at most 2 decimals.",
        "interval_count": "Enter how many days, weeks, months or years, such as 1 or 3.",
    }
    session.rollback()
    with pytest.raises(ValidationFailed) as caught:
        catalog.create_product(
            session,
            ADMIN,
            catalog.ProductInput(name="Care", price="-5", currency="EURO", billing_type="often"),
            clock=clock,
        )
    assert caught.value.errors == {
        "currency": BAD_CURRENCY,
        "price": "A price cannot be negative.",
        "billing_type": "Choose one-time or recurring.",
    }
    session.rollback()
    assert count(session, Product) == 0


def test_editing_a_used_product_reports_its_interval_and_currency_together(
    session: Session, clock: FixedClock
) -> None:
    hosting = add_product(session, clock)
    client = add_client(session, clock)
    subscriptions.attach(
        session,
        ADMIN,
        subscriptions.AttachInput(client_id=client.id or 0, product_id=hosting, start_date=START),
        clock=clock,
    )
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        catalog.update_product(
            session,
            ADMIN,
            hosting,
            catalog.ProductInput(
                name="Hosting plus", price="35", currency="USD", interval_unit="year"
            ),
            clock=clock,
        )
    assert caught.value.errors == {
        "billing_type": "This product has subscriptions: its billing interval cannot change. "
        "Duplicate it and change the copy instead.",
        "currency": "This product has subscriptions: its currency cannot change.",
    }
    session.rollback()
    product = catalog.get_product(session, hosting)
    assert (product.name, product.price_minor, product.interval_unit) == (
        "Managed hosting",
        2500,
        "month",
    )


@pytest.mark.parametrize(
    ("name", "percent", "errors"),
    [
        (
            "",
            "120",
            {
                "name": "Give the tax a name, such as VAT or GST.",
                "percent": "A tax percentage must be between 0 and 100.",
            },
        ),
        (
            "V" * 65,
            "abc",
            {
                "name": "Tax names have at most 64 characters.",
                "percent": "Enter the percentage as a number, such as 20 or 9.975.",
            },
        ),
        (
            " ",
            "",
            {
                "name": "Give the tax a name, such as VAT or GST.",
                "percent": "Enter the tax percentage, such as 20 or 9.975.",
            },
        ),
    ],
)
def test_tax_rate_form_reports_name_and_percentage_together(
    session: Session, clock: FixedClock, name: str, percent: str, errors: dict[str, str]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        tax_rates.create_tax_rate(session, ADMIN, name=name, percent=percent, clock=clock)
    assert caught.value.errors == errors
    session.rollback()
    assert count(session, TaxRateRow) == 0


# --------------------------------------------------------------------------- agency, brands


def test_agency_settings_report_every_bad_field_and_change_nothing(
    session: Session, clock: FixedClock
) -> None:
    before = branding.get_agency(session, clock=clock)
    session.commit()
    kept = (before.legal_name, before.locale, before.time_zone, before.payment_terms_days)
    data = branding.AgencyInput(
        legal_name="  ",
        address="A" * 1001,
        tax_id="T" * 65,
        email="not-an-email",
        default_currency="EURO",
        locale="klingon",
        time_zone="Mars/Olympus",
        payment_terms_days="400",
        number_format="INV-{BAD}",
        number_reset="weekly",
    )
    with pytest.raises(ValidationFailed) as caught:
        branding.update_agency(session, ADMIN, data, clock=clock)
    assert caught.value.errors == {
        "legal_name": "Enter the agency's legal name.",
        "address": "Use at most 1000 characters.",
        "tax_id": "Use at most 64 characters.",
        "email": BAD_EMAIL,
        "default_currency": BAD_CURRENCY,
        "locale": "Choose a language and region, e.g. en, en_GB, fr_FR.",
        "time_zone": "Choose a time zone, e.g. Europe/Paris.",
        "payment_terms_days": "Payment terms are between 0 and 365 days.",
        "number_reset": "Choose when numbering restarts: never, yearly or monthly.",
        "number_format": "Unknown token {BAD} in the number format. "
        "Use {YYYY}, {YY}, {MM}, {DD} or {SEQ:N}.",
    }
    session.rollback()
    after = branding.get_agency(session, clock=clock)
    assert (after.legal_name, after.locale, after.time_zone, after.payment_terms_days) == kept


BRAND = branding.BrandInput(
    name="Nord Hosting",
    primary_color="#0f766e",
    accent_color="#f59e0b",
    sender_name="",
    reply_to="",
    support_email="",
    support_url="",
    email_footer="",
    custom_domain="billing.nord.test",
)


def test_brand_form_reports_every_bad_field_and_writes_nothing(
    session: Session, clock: FixedClock
) -> None:
    bad = branding.BrandInput(
        name="",
        primary_color="teal",
        accent_color="#12345",
        sender_name="Nord\nBcc: victim@evil.test",
        reply_to="nope",
        support_email="help@",
        support_url="ftp://help.test",
        email_footer="f" * 1001,
        custom_domain="not a domain",
        bank_account_holder="Nord\nHosting",
        bank_iban="FR76 3000 6000 0112 3456 7890 188",
        bank_bic="BNP",
        bank_details="d" * 1001,
    )
    with pytest.raises(ValidationFailed) as caught:
        branding.create_brand(session, ADMIN, bad, clock=clock)
    assert caught.value.errors == {
        "name": "Enter the brand's name.",
        "custom_domain": "Enter a domain name like billing.youragency.com.",
        "support_url": "Enter a full address starting with https://.",
        "primary_color": "Use a colour like #1f4b99.",
        "accent_color": "Use a colour like #1f4b99.",
        "sender_name": "Use a single line without control characters.",
        "reply_to": BAD_EMAIL,
        "support_email": "Enter a valid email address (There must be something after the @-sign.).",
        "email_footer": "Use at most 1000 characters.",
        "bank_account_holder": "Use a single line without control characters.",
        "bank_iban": "This IBAN is not valid (its check digits do not match). "
        "Check it against your bank statement.",
        "bank_bic": "Enter a BIC (SWIFT code) of 8 or 11 letters and digits, like BNPAFRPP.",
        "bank_details": "Use at most 1000 characters.",
    }
    session.rollback()
    assert count(session, Brand) == 0


def test_a_brand_clashing_by_name_and_domain_hears_of_both(
    session: Session, clock: FixedClock
) -> None:
    branding.create_brand(session, ADMIN, BRAND, clock=clock)
    session.commit()
    clash = dataclasses.replace(BRAND, name="nord hosting", accent_color="")
    with pytest.raises(ValidationFailed) as caught:
        branding.create_brand(session, ADMIN, clash, clock=clock)
    assert caught.value.errors == {
        "name": "A brand named “nord hosting” already exists.",
        "custom_domain": "billing.nord.test is already used by the brand “Nord Hosting”.",
        "accent_color": "Use a colour like #1f4b99.",
    }
    session.rollback()
    assert count(session, Brand) == 1


# --------------------------------------------------------------------------- team, account


def test_invite_reports_email_and_role_together_and_sends_nothing(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    with pytest.raises(ValidationFailed) as caught:
        team.invite(
            session, owner, email="not-an-email", role="superuser", clock=clock, settings=settings
        )
    assert caught.value.errors == {"email": BAD_EMAIL, "role": "Choose a role."}
    session.rollback()
    admin = as_user(session, join(session, clock, settings, owner, "ada@agency.test", "admin"))
    with pytest.raises(ValidationFailed) as caught:
        team.invite(
            session, admin, email="Owner@Agency.test", role="owner", clock=clock, settings=settings
        )
    assert caught.value.errors == {
        "email": "owner@agency.test is already a member of the team.",
        "role": "Only an owner can invite another owner.",
    }
    session.rollback()
    pending = session.exec(select(Invitation).where(col(Invitation.accepted_at).is_(None))).all()
    assert pending == []


def test_setup_reports_every_field_and_creates_no_owner(
    session: Session, clock: FixedClock
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        auth.create_owner(
            session, name="  ", email="nope", password="short", confirm="shorter", clock=clock
        )
    assert caught.value.errors == {
        "name": "Enter your name.",
        "email": BAD_EMAIL,
        "password": "Use at least 8 characters.",
        "confirm": DIFFER,
    }
    session.rollback()
    assert auth.setup_required(session)
    assert count(session, StaffUser) == 0
    # The confirmation alone is enough to refuse.
    with pytest.raises(ValidationFailed) as caught:
        auth.create_owner(
            session,
            name="Olivia",
            email="owner@agency.test",
            password=PASSWORD,
            confirm=PASSWORD + " ",
            clock=clock,
        )
    assert caught.value.errors == {"confirm": DIFFER}
    session.rollback()
    assert auth.setup_required(session)


def test_accepting_an_invitation_reports_every_field_and_keeps_the_invitation(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    team.invite(
        session, owner, email="alex@agency.test", role="viewer", clock=clock, settings=settings
    )
    session.commit()
    token = invite_link(session, "alex@agency.test", clock, settings)
    with pytest.raises(ValidationFailed) as caught:
        team.accept_invitation(
            session, token=token, name="", password="password1", confirm="password2", clock=clock
        )
    assert caught.value.errors == {
        "name": "Enter your name.",
        "password": "This password is too common. Choose one that is harder to guess.",
        "confirm": DIFFER,
    }
    session.rollback()
    assert team.check_invitation(session, token, clock=clock).email == "alex@agency.test"
    user_id = team.accept_invitation(
        session, token=token, name="Alex", password=PASSWORD, confirm=PASSWORD, clock=clock
    )
    assert as_user(session, user_id).email == "alex@agency.test"


def test_a_reset_link_reports_the_password_and_its_confirmation_together(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    password_reset.request_password_reset(session, email="owner@agency.test", clock=clock)
    session.commit()
    password_reset.answer_reset_requests(session, clock=clock, settings=settings)
    session.commit()
    token = delivered_token(session, "owner@agency.test", "/reset-password", settings, clock)
    with pytest.raises(ValidationFailed) as caught:
        password_reset.reset_password(
            session, token=token, password="short", confirm="", clock=clock
        )
    assert caught.value.errors == {"password": "Use at least 8 characters.", "confirm": DIFFER}
    session.rollback()
    assert password_reset.check_reset_token(session, token, clock=clock) == "owner@agency.test"


def test_changing_the_password_reports_every_field_but_never_confirms_a_guess(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    with pytest.raises(ValidationFailed) as caught:
        account.change_password(
            session,
            me(session, user_id),
            current_password="guess",
            new_password="short",
            confirm="other",
            keep_session_id=None,
            clock=clock,
            settings=settings,
        )
    assert caught.value.errors == {
        "current_password": "Your current password is not right.",
        "new_password": "Use at least 8 characters.",
        "confirm": DIFFER,
    }
    assert caught.value.field == "current_password"
    session.rollback()
    # Without the current password, nobody learns whether a new one is the current one.
    with pytest.raises(ValidationFailed) as caught:
        account.change_password(
            session,
            me(session, user_id),
            current_password="guess",
            new_password=PASSWORD,
            confirm=PASSWORD,
            keep_session_id=None,
            clock=clock,
            settings=settings,
        )
    assert caught.value.errors == {"current_password": "Your current password is not right."}
    session.rollback()
    with pytest.raises(ValidationFailed) as caught:
        account.change_password(
            session,
            me(session, user_id),
            current_password=PASSWORD,
            new_password=PASSWORD,
            confirm=PASSWORD,
            keep_session_id=None,
            clock=clock,
            settings=settings,
        )
    assert caught.value.errors == {
        "new_password": "Choose a password different from the current one."
    }
    session.rollback()
    user = session.get(StaffUser, user_id)
    assert user is not None and verify_password(user.password_hash, PASSWORD)


def test_turning_on_two_factor_reports_the_password_and_the_code_together(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    setup = account.begin_totp_setup(session, me(session, user_id))
    session.commit()
    wrong = str((int(pyotp.TOTP(setup.secret).at(clock.now())) + 500_000) % 1_000_000).zfill(6)
    with pytest.raises(ValidationFailed) as caught:
        account.confirm_totp(
            session,
            me(session, user_id),
            code=wrong,
            current_password="guess",
            clock=clock,
            settings=settings,
        )
    assert caught.value.errors == {
        "current_password": "Your current password is not right.",
        "code": "That code is not right. Check your authenticator app's clock and try again.",
    }
    session.rollback()
    assert not account.two_factor_enabled(session, me(session, user_id))


# --------------------------------------------------------------------------- subscriptions


def test_attach_reports_every_bad_field_and_writes_nothing(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    with pytest.raises(ValidationFailed) as caught:
        subscriptions.attach(
            session,
            ADMIN,
            subscriptions.AttachInput(
                client_id=client.id or 0,
                product_id=0,
                start_date=None,
                quantity="0",
                price_override="-5",
                website_id=99999,
                trial_days="400",
            ),
            clock=clock,
        )
    assert caught.value.errors == {
        "product_id": "Choose a product.",
        "website_id": "Choose one of this client's websites.",
        "quantity": "The quantity is a whole number from 1 to 1,000,000.",
        "price": "A price cannot be negative.",
        "start_date": "Choose the start date.",
        "trial_days": "A trial lasts 0 to 365 days.",
    }
    session.rollback()
    assert count(session, Subscription) == 0


def test_attach_to_an_archived_client_reports_its_other_problems_too(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    setup_fee = add_product(session, clock, name="Setup", billing_type="one_time")
    clients.archive_client(session, ADMIN, client.id or 0, clock=clock)
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        subscriptions.attach(
            session,
            ADMIN,
            subscriptions.AttachInput(
                client_id=client.id or 0,
                product_id=setup_fee,
                start_date=START,
                quantity="two",
                trial_days="7",
            ),
            clock=clock,
        )
    assert caught.value.errors == {
        "client_id": "This client is archived: restore it first.",
        "quantity": "Enter a whole number, such as 1 or 3.",
        "trial_days": "One-time purchases have no trial.",
    }
    session.rollback()
    assert count(session, Subscription) == 0


def test_a_subscription_change_reports_quantity_and_price_together(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    sub = subscriptions.attach(
        session,
        ADMIN,
        subscriptions.AttachInput(
            client_id=client.id or 0, product_id=add_product(session, clock), start_date=START
        ),
        clock=clock,
    )
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        subscriptions.change(session, ADMIN, sub.id or 0, quantity="two", price="abc", clock=clock)
    assert caught.value.errors == {
        "quantity": "Enter a whole number, such as 1 or 3.",
        "price": "'abc' is not a valid amount. Enter an amount like 1,234.50.",
    }
    session.rollback()
    stored = subscriptions.get_subscription(session, sub.id or 0)
    session.refresh(stored)
    assert (stored.pending_quantity, stored.pending_unit_price_minor) == (None, None)


# --------------------------------------------------------------------------- roles


def test_role_form_reports_name_and_permissions_together(
    session: Session, clock: FixedClock
) -> None:
    owner = as_user(session, make_owner(session, clock))
    roles.create_role(
        session, owner, name="Support", description="", permissions=["clients.read"], clock=clock
    )
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        roles.create_role(
            session, owner, name=" support ", description="", permissions=[], clock=clock
        )
    assert caught.value.errors == {
        "name": "A role named “support” already exists.",
        "permissions": "Tick at least one permission.",
    }
    role_id = session.exec(select(CustomRole.id)).one()
    with pytest.raises(ValidationFailed) as caught:
        roles.update_role(
            session,
            owner,
            role_id,
            name="",
            description="",
            permissions=["root.everything"],
            clock=clock,
        )
    assert caught.value.errors == {
        "name": "Give the role a name.",
        "permissions": "Unknown permission: root.everything.",
    }
    session.rollback()
    assert session.exec(select(CustomRole.name)).all() == ["Support"]
