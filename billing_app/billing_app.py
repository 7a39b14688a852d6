"""Builds the Reflex app: theme, pages, our API routes and lifespan tasks. Nothing else."""

from __future__ import annotations

import reflex as rx

from billing_app.adapters import log_redaction
from billing_app.api import edge
from billing_app.api.routes import build_api
from billing_app.jobs.consumer import consumer_lifespan
from billing_app.ui.pages.admin.account import account_page
from billing_app.ui.pages.admin.home import audit_page, dashboard_page, emails_page
from billing_app.ui.pages.admin.team import roles_page, team_page
from billing_app.ui.pages.auth import (
    accept_invite_page,
    forgot_password_page,
    login_page,
    reset_password_page,
    setup_page,
)
from billing_app.ui.state.account import AccountState
from billing_app.ui.state.audit_log import AuditState
from billing_app.ui.state.auth_pages import (
    AcceptInviteState,
    LoginState,
    ResetPasswordState,
    SetupState,
)
from billing_app.ui.state.base import SessionBinding
from billing_app.ui.state.dashboard import DashboardState
from billing_app.ui.state.emails import EmailsState
from billing_app.ui.state.roles import RolesState
from billing_app.ui.state.team import TeamState

app = rx.App(
    # Our routes first, then the edge middleware around everything (cookies kept out of
    # Reflex's state, uploads authorised from their own request).
    api_transformer=[build_api(), edge.Edge],
)
edge.bind_app(app)
app.add_middleware(SessionBinding(), index=0)
app.register_lifespan_task(consumer_lifespan)
app.register_lifespan_task(log_redaction.redaction_lifespan)
log_redaction.install()

app.add_page(setup_page, route="/setup", title="Set up", on_load=SetupState.load)
app.add_page(login_page, route="/login", title="Sign in", on_load=LoginState.load)
app.add_page(forgot_password_page, route="/forgot-password", title="Reset your password")
app.add_page(
    reset_password_page,
    route="/reset-password",
    title="Choose a new password",
    on_load=ResetPasswordState.load,
)
app.add_page(
    accept_invite_page,
    route="/accept-invite",
    title="Join the team",
    on_load=AcceptInviteState.load,
)
app.add_page(dashboard_page, route="/", title="Dashboard", on_load=DashboardState.load)
app.add_page(team_page, route="/team", title="Team", on_load=TeamState.load)
app.add_page(roles_page, route="/roles", title="Roles", on_load=RolesState.load)
app.add_page(emails_page, route="/emails", title="Emails", on_load=EmailsState.load)
app.add_page(audit_page, route="/audit", title="Audit log", on_load=AuditState.load)

# Clients, catalog and subscriptions (issue #4)
from billing_app.ui.pages.admin.catalog import products_page, tax_rates_page  # noqa: E402
from billing_app.ui.pages.admin.clients import (  # noqa: E402
    client_page,
    clients_import_page,
    clients_page,
)
from billing_app.ui.pages.admin.subscriptions import subscriptions_page  # noqa: E402
from billing_app.ui.state.catalog import ProductsState, TaxRatesState  # noqa: E402
from billing_app.ui.state.clients import ClientsState, ClientState, ImportState  # noqa: E402
from billing_app.ui.state.subscriptions import SubscriptionsState  # noqa: E402

app.add_page(clients_page, route="/clients", title="Clients", on_load=ClientsState.load)
app.add_page(
    clients_import_page, route="/clients/import", title="Import clients", on_load=ImportState.load
)
app.add_page(
    client_page,
    route="/clients/[client_id]",
    title="Client",
    on_load=[ClientState.load, SubscriptionsState.load],
)
app.add_page(products_page, route="/products", title="Products", on_load=ProductsState.load)
app.add_page(tax_rates_page, route="/tax-rates", title="Tax rates", on_load=TaxRatesState.load)
app.add_page(
    subscriptions_page,
    route="/subscriptions",
    title="Subscriptions",
    on_load=SubscriptionsState.load,
)
app.add_page(account_page, route="/account", title="My account", on_load=AccountState.load)

# Invoices, settings and brands (issue #5)
from billing_app.ui.pages.admin.invoices import (  # noqa: E402
    invoice_detail_page,
    invoice_editor_page,
    invoices_page,
)
from billing_app.ui.pages.admin.settings import brands_page, settings_page  # noqa: E402
from billing_app.ui.state.brands import BrandsState  # noqa: E402
from billing_app.ui.state.invoice_detail import InvoiceDetailState  # noqa: E402
from billing_app.ui.state.invoice_editor import InvoiceEditorState  # noqa: E402
from billing_app.ui.state.invoices import InvoicesState  # noqa: E402
from billing_app.ui.state.settings import SettingsState  # noqa: E402

app.add_page(invoices_page, route="/invoices", title="Invoices", on_load=InvoicesState.load)
app.add_page(
    invoice_editor_page, route="/invoices/new", title="New invoice", on_load=InvoiceEditorState.load
)
app.add_page(
    invoice_editor_page,
    route="/invoices/[invoice_id]/edit",
    title="Edit invoice",
    on_load=InvoiceEditorState.load,
)
app.add_page(
    invoice_detail_page,
    route="/invoices/[invoice_id]",
    title="Invoice",
    on_load=InvoiceDetailState.load,
)
app.add_page(settings_page, route="/settings", title="Settings", on_load=SettingsState.load)
app.add_page(brands_page, route="/brands", title="Brands", on_load=BrandsState.load)
