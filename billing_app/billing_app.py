"""Builds the Reflex app: theme, pages, our API routes and lifespan tasks. Nothing else."""

from __future__ import annotations

import reflex as rx

from billing_app.api.routes import build_api
from billing_app.jobs.consumer import consumer_lifespan
from billing_app.ui.pages.admin.home import audit_page, dashboard_page, emails_page
from billing_app.ui.pages.admin.team import roles_page, team_page
from billing_app.ui.pages.auth import (
    accept_invite_page,
    forgot_password_page,
    login_page,
    reset_password_page,
    setup_page,
)
from billing_app.ui.state.audit_log import AuditState
from billing_app.ui.state.auth_pages import (
    AcceptInviteState,
    LoginState,
    ResetPasswordState,
    SetupState,
)
from billing_app.ui.state.dashboard import DashboardState
from billing_app.ui.state.emails import EmailsState
from billing_app.ui.state.roles import RolesState
from billing_app.ui.state.team import TeamState

app = rx.App(
    api_transformer=build_api(),
)
app.register_lifespan_task(consumer_lifespan)

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
