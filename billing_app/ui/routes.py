"""Every path of the app and the URL builders, and the page table billing_app.py registers.

Pages and states link here (never a path written by hand), so a path changes in one place.
The page table names each page's view and on_load handlers as "module:attribute": this module
imports no page, so any page may import it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import reflex as rx
from reflex.environment import environment

# Public pages (no session).
SETUP = "/setup"
LOGIN = "/login"
SSO_ERROR = "/login/sso-error"
FORGOT_PASSWORD = "/forgot-password"
RESET_PASSWORD = "/reset-password"
ACCEPT_INVITE = "/accept-invite"

# Admin pages.
DASHBOARD = "/"
CLIENTS = "/clients"
CLIENTS_IMPORT = "/clients/import"
CLIENTS_IMPORT_STRIPE = "/clients/import-stripe"
CLIENT = "/clients/[client_id]"
PRODUCTS = "/products"
TAX_RATES = "/tax-rates"
SUBSCRIPTIONS = "/subscriptions"
RENEWALS = "/subscriptions/renewals"
REPORTS_CASH = "/reports/cash"
PAST_DUE = "/subscriptions/past-due"
INVOICES = "/invoices"
CREDIT_NOTES = "/invoices/credit-notes"
INVOICE_NEW = "/invoices/new"
INVOICE = "/invoices/[invoice_id]"
INVOICE_EDIT = "/invoices/[invoice_id]/edit"
SETTINGS = "/settings"
PAYMENTS_SETTINGS = "/settings/payments"
SIGN_IN_SETTINGS = "/settings/sign-in"
STRIPE_EVENTS = "/settings/payments/events"
BRANDS = "/brands"
TEAM = "/team"
ROLES = "/roles"
EMAILS = "/emails"
AUDIT = "/audit"
REPORTS_MRR = "/reports/mrr"
ACCOUNT = "/account"

# The client portal (its own realm: ui/session/portal.py). Its reset page is where the reset
# emails of services/access/password_reset.py link to.
PORTAL = "/portal"
PORTAL_LOGIN = "/portal/login"
PORTAL_FORGOT_PASSWORD = "/portal/forgot-password"
PORTAL_RESET_PASSWORD = "/portal/reset-password"
PORTAL_SECURITY = "/portal/security"
PORTAL_INVOICES = "/portal/invoices"
PORTAL_INVOICE = "/portal/invoices/[invoice_id]"
PORTAL_PAY = "/portal/pay/[token]"  # an invoice's emailed pay link (services/invoicing/pay_links)
PORTAL_SERVICES = "/portal/services"
PORTAL_ACCOUNT = "/portal/account"
PORTAL_USERS = "/portal/users"
PORTAL_ACCEPT_INVITE = "/portal/accept-invite"


def portal_invoice(invoice_id: int | str) -> str:
    return f"{PORTAL_INVOICES}/{invoice_id}"


PORTAL_PREVIEW_EXIT = "/api/portal/preview/exit"


def portal_preview(client_id: int | str) -> str:
    """Open a client's portal as a read-only preview (backend route, staff session)."""
    return f"/api/portal/preview?client={client_id}"


def portal_invoice_pdf(invoice_id: int | str) -> str:
    """An invoice's PDF for its client (backend route, scoped by the portal session)."""
    return f"/api/portal/invoices/{invoice_id}/pdf"


def portal_credit_note_pdf(note_id: int | str) -> str:
    """A credit note's PDF for its client (backend route, scoped by the portal session)."""
    return f"/api/portal/credit-notes/{note_id}/pdf"


def client(client_id: int | str) -> str:
    return f"{CLIENTS}/{client_id}"


def invoice(invoice_id: int | str) -> str:
    return f"{INVOICES}/{invoice_id}"


def invoice_edit(invoice_id: int | str) -> str:
    return f"{INVOICES}/{invoice_id}/edit"


def _with_query(path: str, params: dict[str, str]) -> str:
    query = "&".join(f"{key}={quote(value, safe='/')}" for key, value in params.items())
    return f"{path}?{query}" if query else path


def login(**params: str) -> str:
    """The sign-in page, e.g. ``login(next="/team")`` or ``login(signed_out="1")``."""
    return _with_query(LOGIN, params)


def portal_login(**params: str) -> str:
    """The portal's sign-in page, e.g. ``portal_login(next="/portal/invoices")``."""
    return _with_query(PORTAL_LOGIN, params)


# Our backend routes (api/routes.py).
def invoice_pdf(invoice_id: int | str, *, download: bool = False, original: bool = False) -> str:
    """The PDF as it stands now, or (``original``) byte for byte the one that was emailed."""
    query = "&".join(
        part for part, wanted in (("download=1", download), ("original=1", original)) if wanted
    )
    return f"/api/invoices/{invoice_id}/pdf" + (f"?{query}" if query else "")


def credit_note_pdf(note_id: int | str) -> str:
    """A credit note's PDF, as it was issued (staff)."""
    return f"/api/credit-notes/{note_id}/pdf"


def product_image(product_id: int | str, version: str = "") -> str:
    return f"/api/catalog/product-image/{product_id}" + (f"?v={version}" if version else "")


def brand_logo(brand_id: int | str) -> str:
    return f"/api/brands/{brand_id}/logo"


def brand_sample_pdf(brand_id: int | str, version: str = "") -> str:
    return f"/api/brands/{brand_id}/sample.pdf" + (f"?v={version}" if version else "")


def handoff(ticket: str, next_url: str) -> str:
    return f"/api/auth/handoff?ticket={quote(ticket)}&next={quote(next_url)}"


def signed_out(next_url: str) -> str:
    return f"/api/auth/signed-out?next={quote(next_url)}"


def portal_handoff(ticket: str, next_url: str) -> str:
    return f"/api/portal/session?ticket={quote(ticket)}&next={quote(next_url)}"


def portal_signed_out(next_url: str) -> str:
    return f"/api/portal/signed-out?next={quote(next_url)}"


def browser_cookie(next_url: str) -> str:
    return f"/api/auth/browser?next={quote(next_url)}"


@dataclass(frozen=True)
class Page:
    """One page: its path, title, view ("module:function") and on_load handlers
    ("module:State.handler")."""

    path: str
    title: str
    view: str
    on_load: tuple[str, ...] = ()


_ADMIN = "billing_app.ui.admin"
_PORTAL = "billing_app.ui.portal"
_AUTH = "billing_app.ui.auth"

PAGES: tuple[Page, ...] = (
    Page(SETUP, "Set up", f"{_AUTH}.setup:setup_page", (f"{_AUTH}.setup:SetupState.load",)),
    Page(LOGIN, "Sign in", f"{_AUTH}.login:login_page", (f"{_AUTH}.login:LoginState.load",)),
    Page(
        SSO_ERROR,
        "Not signed in",
        f"{_AUTH}.sso_error:sso_error_page",
        (f"{_AUTH}.sso_error:SsoErrorState.load",),
    ),
    Page(FORGOT_PASSWORD, "Reset your password", f"{_AUTH}.forgot_password:forgot_password_page"),
    Page(
        RESET_PASSWORD,
        "Choose a new password",
        f"{_AUTH}.reset_password:reset_password_page",
        (f"{_AUTH}.reset_password:ResetPasswordState.load",),
    ),
    Page(
        ACCEPT_INVITE,
        "Join the team",
        f"{_AUTH}.accept_invite:accept_invite_page",
        (f"{_AUTH}.accept_invite:AcceptInviteState.load",),
    ),
    Page(
        DASHBOARD,
        "Dashboard",
        f"{_ADMIN}.dashboard.dashboard:dashboard_page",
        (f"{_ADMIN}.dashboard.dashboard:DashboardState.load",),
    ),
    Page(
        TEAM,
        "Team",
        f"{_ADMIN}.team.team:team_page",
        (f"{_ADMIN}.team.team:TeamState.load", f"{_ADMIN}.team.team:InvitationsState.load"),
    ),
    Page(
        ROLES,
        "Roles",
        f"{_ADMIN}.team.roles:roles_page",
        (
            f"{_ADMIN}.team.roles:RolesState.load",
            f"{_ADMIN}.team.client_roles:ClientRolesState.load",
        ),
    ),
    Page(
        EMAILS,
        "Emails",
        f"{_ADMIN}.emails.emails:emails_page",
        (f"{_ADMIN}.emails.emails:EmailsState.load",),
    ),
    Page(
        AUDIT,
        "Audit log",
        f"{_ADMIN}.audit.audit_log:audit_page",
        (f"{_ADMIN}.audit.audit_log:AuditState.load",),
    ),
    Page(
        REPORTS_MRR,
        "MRR report",
        f"{_ADMIN}.reports.mrr:mrr_report_page",
        (f"{_ADMIN}.reports.mrr:MrrReportState.load",),
    ),
    Page(
        CLIENTS,
        "Clients",
        f"{_ADMIN}.clients.list:clients_page",
        (f"{_ADMIN}.clients.list:ClientsState.load",),
    ),
    Page(
        CLIENTS_IMPORT,
        "Import clients",
        f"{_ADMIN}.clients.import_csv:clients_import_page",
        (f"{_ADMIN}.clients.import_csv:ImportState.load",),
    ),
    Page(
        CLIENTS_IMPORT_STRIPE,
        "Import clients from Stripe",
        f"{_ADMIN}.clients.import_stripe:stripe_import_page",
        (f"{_ADMIN}.clients.import_stripe:StripeImportState.load",),
    ),
    Page(
        CLIENT,
        "Client",
        f"{_ADMIN}.clients.overview:client_page",
        (
            f"{_ADMIN}.clients.overview_state:ClientState.load",
            f"{_ADMIN}.clients.revenue_charts:ClientRevenueState.load",
            f"{_ADMIN}.clients.credit_card:ClientCreditState.load",
            f"{_ADMIN}.subscriptions.state:SubscriptionsState.load",
            f"{_ADMIN}.clients.users_state:ClientUsersState.load",
            f"{_ADMIN}.clients.users_state:ClientInvitationsState.load",
        ),
    ),
    Page(
        PRODUCTS,
        "Products",
        f"{_ADMIN}.catalog.products:products_page",
        (f"{_ADMIN}.catalog.products:ProductsState.load",),
    ),
    Page(
        TAX_RATES,
        "Tax rates",
        f"{_ADMIN}.catalog.tax_rates:tax_rates_page",
        (f"{_ADMIN}.catalog.tax_rates:TaxRatesState.load",),
    ),
    Page(
        SUBSCRIPTIONS,
        "Subscriptions",
        f"{_ADMIN}.subscriptions.subscriptions:subscriptions_page",
        (
            f"{_ADMIN}.subscriptions.state:SubscriptionsState.load",
            f"{_ADMIN}.subscriptions.cancellations:CancellationRequestsState.load",
        ),
    ),
    Page(
        RENEWALS,
        "Renewals",
        f"{_ADMIN}.subscriptions.renewals:renewals_page",
        (f"{_ADMIN}.subscriptions.renewals:RenewalsState.load",),
    ),
    Page(
        PAST_DUE,
        "Past due",
        f"{_ADMIN}.subscriptions.past_due:past_due_page",
        (f"{_ADMIN}.subscriptions.past_due:PastDueState.load",),
    ),
    Page(
        REPORTS_CASH,
        "Cash",
        f"{_ADMIN}.reports.cash:cash_report_page",
        (f"{_ADMIN}.reports.cash_state:CashReportState.load",),
    ),
    Page(
        ACCOUNT,
        "My account",
        f"{_ADMIN}.account.account:account_page",
        (f"{_ADMIN}.account.account:AccountState.load",),
    ),
    Page(
        INVOICES,
        "Invoices",
        f"{_ADMIN}.invoices.list:invoices_page",
        (f"{_ADMIN}.invoices.list:InvoicesState.load",),
    ),
    Page(
        CREDIT_NOTES,
        "Credit notes",
        f"{_ADMIN}.invoices.credit_notes_list:credit_notes_page",
        (f"{_ADMIN}.invoices.credit_notes_list:CreditNotesState.load",),
    ),
    Page(
        INVOICE_NEW,
        "New invoice",
        f"{_ADMIN}.invoices.editor:invoice_editor_page",
        (f"{_ADMIN}.invoices.editor_state:InvoiceEditorState.load",),
    ),
    Page(
        INVOICE_EDIT,
        "Edit invoice",
        f"{_ADMIN}.invoices.editor:invoice_editor_page",
        (f"{_ADMIN}.invoices.editor_state:InvoiceEditorState.load",),
    ),
    Page(
        INVOICE,
        "Invoice",
        f"{_ADMIN}.invoices.detail:invoice_detail_page",
        (
            f"{_ADMIN}.invoices.detail_state:InvoiceDetailState.load",
            f"{_ADMIN}.invoices.credit_note:CreditNoteState.load",
            f"{_ADMIN}.invoices.detail_dunning:InvoiceDunningState.load",
        ),
    ),
    Page(
        SETTINGS,
        "Settings",
        f"{_ADMIN}.settings.agency:settings_page",
        (
            f"{_ADMIN}.settings.agency:SettingsState.load",
            f"{_ADMIN}.settings.portal:PortalSettingsState.load",
            f"{_ADMIN}.settings.dunning:DunningSettingsState.load",
        ),
    ),
    Page(
        SIGN_IN_SETTINGS,
        "Sign-in",
        f"{_ADMIN}.settings.sign_in:sign_in_settings_page",
        (f"{_ADMIN}.settings.sign_in:SignInSettingsState.load",),
    ),
    Page(
        PAYMENTS_SETTINGS,
        "Payments",
        f"{_ADMIN}.settings.payments:payments_settings_page",
        (f"{_ADMIN}.settings.payments:PaymentsSettingsState.load",),
    ),
    Page(
        STRIPE_EVENTS,
        "Stripe events",
        f"{_ADMIN}.settings.stripe_events:stripe_events_page",
        (f"{_ADMIN}.settings.stripe_events:StripeEventsState.load",),
    ),
    Page(
        BRANDS,
        "Brands",
        f"{_ADMIN}.settings.brands:brands_page",
        (f"{_ADMIN}.settings.brands:BrandsState.load",),
    ),
    # The client portal: its own realm (ui/session/portal.py), titled by the brand.
    Page(
        PORTAL,
        "Overview",
        f"{_PORTAL}.overview:portal_overview_page",
        (f"{_PORTAL}.overview:PortalOverviewState.load",),
    ),
    Page(
        PORTAL_INVOICES,
        "Invoices",
        f"{_PORTAL}.invoices:portal_invoices_page",
        (f"{_PORTAL}.invoices:PortalInvoicesState.load",),
    ),
    Page(
        PORTAL_INVOICE,
        "Invoice",
        f"{_PORTAL}.pay_invoice:portal_invoice_page",
        (
            f"{_PORTAL}.invoice:PortalInvoiceState.load",
            f"{_PORTAL}.pay_invoice:PortalPayState.load",
        ),
    ),
    Page(
        PORTAL_PAY,
        "Pay your invoice",
        f"{_PORTAL}.pay_link:pay_link_page",
        (f"{_PORTAL}.pay_link:PayLinkState.load",),
    ),
    Page(
        PORTAL_SERVICES,
        "Products & services",
        f"{_PORTAL}.services:portal_services_page",
        (f"{_PORTAL}.services:PortalServicesState.load",),
    ),
    Page(
        PORTAL_LOGIN,
        "Sign in",
        f"{_PORTAL}.login:portal_login_page",
        (f"{_PORTAL}.login:PortalLoginState.load",),
    ),
    Page(
        PORTAL_FORGOT_PASSWORD,
        "Forgot your password",
        f"{_PORTAL}.login:portal_forgot_page",
        (f"{_PORTAL}.login:PortalForgotState.load",),
    ),
    Page(
        PORTAL_RESET_PASSWORD,
        "Choose a new password",
        f"{_PORTAL}.login:portal_reset_page",
        (f"{_PORTAL}.login:PortalResetState.load",),
    ),
    Page(
        PORTAL_ACCEPT_INVITE,
        "Your invitation",
        f"{_PORTAL}.accept_invite:portal_accept_page",
        (f"{_PORTAL}.accept_invite:PortalAcceptState.load",),
    ),
    Page(
        PORTAL_SECURITY,
        "Security",
        f"{_PORTAL}.security:portal_security_page",
        (f"{_PORTAL}.security:PortalSecurityState.load",),
    ),
    Page(
        PORTAL_USERS,
        "Users",
        f"{_PORTAL}.users:portal_users_page",
        (f"{_PORTAL}.users:PortalUsersState.load",),
    ),
    Page(
        PORTAL_ACCOUNT,
        "Account",
        f"{_PORTAL}.account:portal_account_page",
        (
            f"{_PORTAL}.account:PortalAccountState.load",
            f"{_PORTAL}.payment_methods:PortalCardsState.load",
        ),
    ),
)


def _single_port() -> bool:
    """``make run`` serves pages and our routes on one origin; ``make dev`` splits them."""
    return bool(environment.REFLEX_MOUNT_FRONTEND_COMPILED_APP.get())


def built_backend_path(path: str) -> str:
    """The URL of one of our backend routes written into a page when it is built: relative
    in a production build (served on the page's own origin, whatever host it was opened
    on), else as ``backend_path``. The production build is made before the server that
    mounts it starts, so ``backend_path`` cannot tell yet."""
    if environment.REFLEX_ENV_MODE.get() == rx.constants.Env.PROD:
        return path
    return backend_path(path)


def backend_path(path: str) -> str:
    """The URL of one of our backend routes, as the browser must load it."""
    if _single_port():
        return path
    return rx.config.get_config().api_url.rstrip("/") + path


def frontend_url(path: str) -> str:
    """Where a backend route sends the browser back to (a page of the app)."""
    if _single_port():
        return path
    return (rx.config.get_config().deploy_url or "").rstrip("/") + path


def hard_redirect(url: str) -> Any:
    """A full page load (not a client-side navigation): needed for our backend routes, which
    set or clear the HttpOnly cookies."""
    return rx.call_script(f"window.location.assign({json.dumps(url)})")
