"""Every page of the app passes axe-core (tests/e2e/axe.py) with no critical or serious
violation: the signed-out pages, every admin page signed in as the owner with realistic data on
it (clients, products, subscriptions, invoices in each state, a team with a pending invitation, a
custom role, a brand, sent emails, the audit log), the main dialogs open, and the narrow phone
width. A screenshot of each page checked goes to test-artifacts/accessibility/, with a summary
of every violation found (the moderate and minor ones too) in axe-report.json."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.models import StaffUser
from billing_app.services.access import auth, password_reset, roles, team
from billing_app.services.access.identity import current_user_from
from billing_app.services.agency import branding
from billing_app.services.catalog import products as catalog
from billing_app.services.catalog import subscriptions, tax_rates
from billing_app.services.common.outbox import deliver_due
from billing_app.services.common.tokens import hash_password
from billing_app.services.customers import clients
from billing_app.services.invoicing import drafts, payments, sending
from billing_app.settings import get_settings
from tests.support import CapturingMailer, link_token

from .axe import assert_accessible, axe_violations, fail_on_blocking
from .conftest import (
    ARTIFACTS,
    OWNER_EMAIL,
    OWNER_PASSWORD,
    AppServer,
    emailed_link,
    ensure_owner,
    session_token,
)

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "accessibility"
REPORT = SHOTS / "axe-report.json"
MEMBER_PASSWORD = "an accountant who reads every line"
PHONE = {"width": 375, "height": 812}

_report: dict[str, list[dict[str, Any]]] = {}


def _record(name: str, violations: list[dict[str, Any]]) -> None:
    _report[name] = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": len(v["nodes"]),
            "targets": [", ".join(n["target"]) for n in v["nodes"][:10]],
        }
        for v in violations
    ]
    SHOTS.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(_report, indent=2, sort_keys=True))


def check(page: Any, name: str, problems: list[str] | None = None) -> None:
    """Screenshot the page as it stands, then fail on any critical or serious violation (or,
    given ``problems``, add the failure there so that a journey checks all its pages)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    violations = axe_violations(page)
    _record(name, violations)
    try:
        fail_on_blocking(page, name, violations)
    except AssertionError as failure:
        if problems is None:
            raise
        problems.append(str(failure))


def _ready(page: Any, selector: str) -> None:
    """Wait until the page shows its content (not the loading spinner), and for the redirects
    that pages do on load to have settled."""
    page.wait_for_load_state("networkidle")
    page.locator(selector).first.wait_for(state="visible")
    page.wait_for_load_state("networkidle")


@dataclass
class World:
    owner_token: str
    client_id: int
    company: str
    draft_id: int
    sent_id: int
    reset_link: str
    invite_link: str
    run: str


@pytest.fixture(scope="module")
def world(app_server: AppServer) -> Iterator[World]:
    """Realistic data made with the services, as the owner."""
    run = datetime.now(UTC).strftime("%H%M%S")
    with pytest.MonkeyPatch.context() as mp:
        # Invoices sent here store their PDFs where the app reads them.
        mp.setenv("BILLING_DATA_DIR", str(app_server.data_dir))
        get_settings.cache_clear()
        try:
            yield _make_world(app_server, run)
        finally:
            mp.undo()
            get_settings.cache_clear()


def _make_world(server: AppServer, run: str) -> World:
    settings = server.settings
    ensure_owner(server)
    with Session(server.engine, expire_on_commit=False) as session:
        owner = session.exec(select(StaffUser).where(col(StaffUser.email) == OWNER_EMAIL)).one()
        actor = current_user_from(session, owner)

        branding.create_brand(
            session,
            actor,
            branding.BrandInput(
                name=f"Studio Nord {run}",
                primary_color="#0f766e",
                accent_color="#f59e0b",
                sender_name="Studio Nord Billing",
                reply_to="accounts@studio-nord.test",
                support_email="help@studio-nord.test",
                support_url="",
                email_footer="Studio Nord Oy · Mannerheimintie 1, Helsinki",
                custom_domain="",
            ),
        )
        vat = tax_rates.create_tax_rate(session, actor, name=f"VAT {run}", percent="20")
        session.flush()
        assert vat.id is not None
        hosting = catalog.create_product(
            session,
            actor,
            catalog.ProductInput(
                name=f"Managed hosting {run}",
                price="25.00",
                currency="EUR",
                description="Backups, updates and uptime monitoring",
                tax_rate_ids=[vat.id],
            ),
        )
        setup_fee = catalog.create_product(
            session,
            actor,
            catalog.ProductInput(
                name=f"Site setup {run}",
                price="490.00",
                currency="EUR",
                billing_type="one_time",
                tax_rate_ids=[vat.id],
            ),
        )
        client = clients.create_client(
            session,
            actor,
            clients.ClientInput(
                company=f"Café Ünder {run} GmbH",
                email=f"billing-{run}@cafe-under.test",
                contact_name="Jürgen Çelik",
                city="Köln",
                country="DE",
                currency="EUR",
                websites=[clients.WebsiteInput("Shop", f"https://shop-{run}.cafe-under.test")],
            ),
        )
        clients.create_client(
            session,
            actor,
            clients.ClientInput(
                company=f"Fjord Bakery {run}",
                email=f"hello-{run}@fjord-bakery.test",
                city="Bergen",
                country="NO",
                currency="EUR",
            ),
        )
        session.flush()
        assert client.id is not None and hosting.id is not None and setup_fee.id is not None
        subscriptions.attach(
            session,
            actor,
            subscriptions.AttachInput(
                client_id=client.id, product_id=hosting.id, start_date=date.today(), quantity=2
            ),
        )
        lines = (
            drafts.LineForm(f"Managed hosting {run}", "2", "25.00", tax_rate_ids=(vat.id,)),
            drafts.LineForm("Logo refresh", "1", "300", discount="10%", tax_rate_ids=(vat.id,)),
        )
        sent_id = drafts.save_draft(
            session, actor, drafts.DraftForm(client_id=client.id, lines=lines, message="Thanks!")
        )
        sending.send_invoice(session, actor, sent_id)
        payments.record_payment(
            session,
            actor,
            sent_id,
            payments.PaymentForm(
                amount="100", method="bank_transfer", received_on=date.today(), reference="SEPA-1"
            ),
        )
        draft_id = drafts.save_draft(
            session, actor, drafts.DraftForm(client_id=client.id, lines=lines[:1])
        )
        role_id = roles.create_role(
            session,
            actor,
            name=f"Bookkeeper {run}",
            description="Reads clients and records payments",
            permissions=["clients.read", "invoices.read"],
        )
        session.add(
            StaffUser(
                email=f"accountant-{run}@studio-nord.test",
                name="Alex Lindqvist",
                password_hash=hash_password(MEMBER_PASSWORD),
                role_key="custom",
                custom_role_id=role_id,
                created_at=datetime.now(UTC),
            )
        )
        invitee = f"new-{run}@studio-nord.test"
        team.invite(session, actor, email=invitee, role="viewer", settings=settings)
        password_reset.request_password_reset(session, email=OWNER_EMAIL)
        password_reset.answer_reset_requests(session, settings=settings)
        session.commit()
        company = client.company
        client_id = client.id
    # Deliver once, here (the app's worker may have been faster for either email).
    mailer = CapturingMailer()
    deliver_due(server.engine, mailer, settings=settings)

    def link(to: str, path: str) -> str:
        sent = [m for m in mailer.sent if m.to_address == to]
        if sent:
            return f"{server.base_url}{path}?token={link_token(sent[-1], path)}"
        return emailed_link(server, to, path)

    reset_link = link(OWNER_EMAIL, "/reset-password")
    invite_link = link(invitee, "/accept-invite")
    return World(
        owner_token=session_token(server, OWNER_EMAIL, OWNER_PASSWORD),
        client_id=client_id,
        company=company,
        draft_id=draft_id,
        sent_id=sent_id,
        reset_link=reset_link,
        invite_link=invite_link,
        run=run,
    )


def owner_page(new_page: Any, server: AppServer, world: World) -> Any:
    page = new_page()
    page.context.add_cookies(
        [{"name": "billing_session", "value": world.owner_token, "url": server.base_url}]
    )
    return page


# --- signed out ------------------------------------------------------------------------------


def test_the_first_run_page_passes_axe(app_server: AppServer, new_page: Any) -> None:
    """The first-run page is there only while no account exists: on a new installation (this
    module on its own) it is checked before the owner is made; once the first-run journey has
    made the owner (and checked it: tests/e2e/test_foundation_journeys.py), it sends people to
    sign in."""
    with Session(app_server.engine) as session:
        required = auth.setup_required(session)
    page = new_page()
    page.goto(app_server.base_url + "/setup")
    if not required:
        page.wait_for_url(re.compile(r".*/login/?(\?.*)?$"))
        return
    _ready(page, "#setup-submit")
    page.get_by_text("Create the owner account").wait_for()
    check(page, "setup")


def test_the_signed_out_pages_pass_axe(app_server: AppServer, new_page: Any, world: World) -> None:
    page = new_page()
    base = app_server.base_url
    problems: list[str] = []
    page.goto(base + "/login")
    _ready(page, "#login-submit")
    check(page, "login", problems)

    page.goto(base + "/login?signed_out=1")
    _ready(page, "#login-notice")
    check(page, "login-signed-out", problems)

    page.fill("#email", OWNER_EMAIL)
    page.fill("#password", "not the password")
    page.click("#login-submit")
    page.locator("#form-error").wait_for()
    check(page, "login-error", problems)

    page.goto(base + "/forgot-password")
    _ready(page, "#forgot-submit")
    check(page, "forgot-password", problems)

    page.goto(world.reset_link)
    _ready(page, "#reset-submit")
    check(page, "reset-password", problems)

    page.goto(base + "/reset-password?token=not-a-real-token")
    _ready(page, "#token-invalid")
    check(page, "reset-password-invalid", problems)

    page.goto(base + "/forgot-password")
    _ready(page, "#forgot-submit")
    page.fill("#email", f"nobody-{world.run}@studio-nord.test")
    page.click("#forgot-submit")
    page.locator("#forgot-sent").wait_for()
    check(page, "forgot-password-sent", problems)

    page.goto(world.invite_link)
    _ready(page, "#accept-submit")
    page.get_by_text("You're invited as Viewer.").wait_for()
    check(page, "accept-invite", problems)

    # Once an account exists, the first-run page sends people to sign in.
    page.goto(base + "/setup")
    page.wait_for_url(re.compile(r".*/login/?(\?.*)?$"))
    assert not problems, "\n\n".join(problems)


def test_the_login_page_passes_axe_on_a_phone(
    app_server: AppServer, new_page: Any, world: World
) -> None:
    page = new_page()
    page.set_viewport_size(PHONE)
    page.goto(app_server.base_url + "/login")
    _ready(page, "#login-submit")
    check(page, "phone-login")


# --- admin pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminPage:
    name: str
    path: Callable[[World], str]
    ready: Callable[[World], str]  # a selector shown once the page has its data


ADMIN_PAGES = (
    AdminPage("dashboard", lambda w: "/", lambda w: "#dashboard-welcome"),
    AdminPage("clients", lambda w: "/clients", lambda w: "#clients-table tbody tr"),
    AdminPage(
        "client-overview",
        lambda w: f"/clients/{w.client_id}",
        lambda w: f"#client-name >> text={w.company}",
    ),
    AdminPage("client-import", lambda w: "/clients/import", lambda w: "#clients-csv"),
    AdminPage(
        "products",
        lambda w: "/products",
        lambda w: "#products-table tbody tr",
    ),
    AdminPage("tax-rates", lambda w: "/tax-rates", lambda w: "#tax-rates-table tbody tr"),
    AdminPage(
        "subscriptions",
        lambda w: "/subscriptions",
        lambda w: "#subscriptions-table tbody tr",
    ),
    AdminPage("invoices", lambda w: "/invoices", lambda w: "#invoices tbody tr"),
    AdminPage("invoice-edit", lambda w: f"/invoices/{w.draft_id}/edit", lambda w: "#invoice-total"),
    AdminPage(
        "invoice-detail", lambda w: f"/invoices/{w.sent_id}", lambda w: "#timeline >> text=SEPA-1"
    ),
    AdminPage("emails", lambda w: "/emails", lambda w: "#emails tbody tr"),
    AdminPage("audit", lambda w: "/audit", lambda w: "#audit tbody tr"),
    AdminPage("team", lambda w: "/team", lambda w: "#invitations tbody tr"),
    AdminPage("roles", lambda w: "/roles", lambda w: "#roles tbody tr"),
    AdminPage("settings", lambda w: "/settings", lambda w: "#legal_name"),
    AdminPage("brands", lambda w: "/brands", lambda w: f"text=Studio Nord {w.run}"),
    AdminPage("account", lambda w: "/account", lambda w: "#change-password"),
)


@pytest.mark.parametrize("spec", ADMIN_PAGES, ids=[p.name for p in ADMIN_PAGES])
def test_each_admin_page_passes_axe(
    app_server: AppServer, new_page: Any, world: World, spec: AdminPage
) -> None:
    page = owner_page(new_page, app_server, world)
    page.goto(app_server.base_url + spec.path(world))
    _ready(page, spec.ready(world))
    assert page.locator("main").count() == 1
    check(page, spec.name)


def test_the_new_invoice_editor_with_a_client_and_lines_passes_axe(
    app_server: AppServer, new_page: Any, world: World
) -> None:
    page = owner_page(new_page, app_server, world)
    page.goto(app_server.base_url + "/invoices/new")
    _ready(page, "#invoice-client")
    page.select_option(
        "#invoice-client", label=f"{world.company} <billing-{world.run}@cafe-under.test>"
    )
    page.get_by_text("Billed in EUR").wait_for()
    page.select_option("#add-product", label=f"Managed hosting {world.run} — €25.00")
    page.locator("[id^=line-amount-]", has_text="€25.00").wait_for()
    page.click("#add-line")
    page.locator("[id^=line-description-]").nth(1).wait_for()
    page.locator("[id^=line-description-]").nth(1).fill("Logo refresh")
    page.locator("[id^=line-unit_price-]").nth(1).fill("30O")  # a typo: the line says so
    page.locator("[id^=line-error-]").first.wait_for()
    check(page, "invoice-new")


def test_the_invoices_list_passes_axe_on_a_phone(
    app_server: AppServer, new_page: Any, world: World
) -> None:
    page = owner_page(new_page, app_server, world)
    page.set_viewport_size(PHONE)
    page.goto(app_server.base_url + "/invoices")
    _ready(page, "#invoices tbody tr")
    check(page, "phone-invoices")


# --- dialogs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialog:
    name: str
    path: Callable[[World], str]
    ready: str
    opener: str
    inside: str  # a field of the open dialog


DIALOGS = (
    Dialog(
        "dialog-add-client", lambda w: "/clients", "#clients-add", "#clients-add", "#site-url-0"
    ),
    Dialog(
        "dialog-add-product",
        lambda w: "/products",
        "#products-add",
        "#products-add",
        "#field-price",
    ),
    Dialog(
        "dialog-record-payment",
        lambda w: f"/invoices/{w.sent_id}",
        "#pay-open",
        "#pay-open",
        "#pay-amount",
    ),
    Dialog("dialog-invite-member", lambda w: "/team", "#invite-open", "#invite-open", "#email"),
)


@pytest.mark.parametrize("spec", DIALOGS, ids=[d.name for d in DIALOGS])
def test_each_main_dialog_passes_axe(
    app_server: AppServer, new_page: Any, world: World, spec: Dialog
) -> None:
    page = owner_page(new_page, app_server, world)
    page.goto(app_server.base_url + spec.path(world))
    _ready(page, spec.ready)
    page.click(spec.opener)
    page.get_by_role("dialog").locator(spec.inside).wait_for()
    page.wait_for_timeout(400)  # the dialog's opening animation
    check(page, spec.name)


# --- the check itself --------------------------------------------------------------------------


def test_the_check_fails_on_an_unlabelled_field(
    app_server: AppServer, new_page: Any, world: World
) -> None:
    """The check is not blind: a field with no label added to a passing page fails it, and the
    failure names the rule and the element."""
    page = new_page()
    page.goto(app_server.base_url + "/login")
    _ready(page, "#login-submit")
    page.evaluate(
        """() => {
            const input = document.createElement('input');
            input.id = 'planted-unlabelled';
            document.querySelector('form').appendChild(input);
        }"""
    )
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "login with a planted field")
    assert "label" in str(failure.value)
    assert "#planted-unlabelled" in str(failure.value)
