"""The portal's frame: the brand's look (logo, exact colours, support contacts, footer), the
header with the client switcher and the user menu, the navigation, and the page's main landmark.

Every portal page state derives from ``PortalPageState``; its ``load`` calls ``_frame()`` (a
signed-in page) or ``_public_frame()`` (sign-in, reset, invitation), which fill the look from
the page's host, else the client's brand, else the default brand (services/agency/
portal_brand.py). Nothing of the product behind the portal is shown: the brand is the only name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import reflex as rx

from billing_app.domain.bank import grouped
from billing_app.domain.permissions import ClientPermission
from billing_app.services.access import portal_frame
from billing_app.services.agency import portal_brand
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.kit.layout import overlay_spinner, visually_hidden
from billing_app.ui.portal.payment_banner import alert_row, payment_banner
from billing_app.ui.session.portal import PortalShellState, current_client_user

T = TypeVar("T")


def logo_path(logo_key: str) -> str:
    return f"/api/portal/logo/{logo_key}" if logo_key else ""


class PortalPageState(PortalShellState):
    """The look and the navigation badge every portal page shows."""

    status: str = "loading"  # loading | ok | denied | signed_out
    brand_name: str = ""
    logo_url: str = ""
    theme: dict[str, str] = {}
    support_email: str = ""
    support_url: str = ""
    footer: str = ""
    unpaid: int = 0
    alerts: list[dict[str, str]] = []  # the payment banner: what must be paid or fixed now
    alerts_more: int = 0
    client_id: str = ""  # the client the session looks at (display: the switcher's choice)
    _brand_id: int = 0  # the brand shown (server side only: reset emails are sent under it)
    _bank: dict[str, str] = {}  # the brand's bank details (shown where an invoice is paid)

    def _netloc(self) -> str:
        try:
            return str(self.router.url.netloc)
        except AttributeError:
            return ""

    def _look(self, client_id: int | None) -> None:
        self._show_look(run(portal_brand.portal_look, netloc=self._netloc(), client_id=client_id))

    def _show_look(self, look: portal_brand.BrandLook) -> None:
        self._brand_id = look.brand_id
        self._bank = {
            "holder": look.bank.account_holder,
            "iban": grouped(look.bank.iban),
            "bic": look.bank.bic,
            "details": look.bank.details,
            "given": "yes" if look.bank.given else "",
        }
        self._set_changed(
            brand_name=look.name,
            logo_url=routes.backend_path(logo_path(look.logo_key)) if look.logo_key else "",
            theme=look.theme,
            support_email=look.support_email,
            support_url=look.support_url,
            footer=look.footer,
        )

    def _set_changed(self, **values: Any) -> None:
        """Set the frame's vars that differ from what the page already shows: a var set is
        sent to the browser again even when equal, and the frame is the same from page to
        page."""
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    def _public_frame(self) -> None:
        """The look of a page shown before signing in: the host's brand, else the default."""
        self._look(None)
        self.status = "ok"

    def _frame(self) -> None:
        """The look, badge and two-factor gate of a signed-in page (called by its guarded
        load), read in one transaction."""
        user = current_client_user()
        self._show_frame(run(portal_frame.portal_frame, user, netloc=self._netloc()))

    def _framed(self, read: Callable[..., T], *args: Any) -> T:
        """``_frame()`` and the page's own data, ``read(session, user, *args)``, read in the
        same transaction."""
        user = current_client_user()
        frame, data = run(portal_frame.framed, user, read, *args, netloc=self._netloc())
        self._show_frame(frame)
        return data

    def _show_frame(self, frame: portal_frame.PortalFrame) -> None:
        self._show_look(frame.look)
        self._two_factor_required = frame.two_factor_required
        self._set_changed(
            client_id=str(current_client_user().client_id),
            unpaid=frame.unpaid,
            alerts=[alert_row(a) for a in frame.alerts.alerts],
            alerts_more=frame.alerts.more,
            status="ok",
        )


P = PortalPageState
# The logo arrives with the look, after the page has shown: its row keeps its height from the
# start, so nothing below it moves (cumulative layout shift).
LOGO_HEIGHT = "32px"


@dataclass(frozen=True)
class PortalNav:
    label: str
    href: str
    icon: str
    permission: ClientPermission | None


NAV: tuple[PortalNav, ...] = (
    PortalNav("Overview", routes.PORTAL, "layout-dashboard", None),
    PortalNav("Invoices", routes.PORTAL_INVOICES, "file-text", ClientPermission.INVOICES_VIEW),
    PortalNav("Services", routes.PORTAL_SERVICES, "package", ClientPermission.SUBSCRIPTIONS_VIEW),
    PortalNav("Account", routes.PORTAL_ACCOUNT, "building-2", None),
    PortalNav("Users", routes.PORTAL_USERS, "users", ClientPermission.USERS_MANAGE),
    PortalNav("Security", routes.PORTAL_SECURITY, "shield-check", None),
)


def _nav_link(item: PortalNav) -> rx.Component:
    path = rx.State.router.url.path
    if item.href == routes.PORTAL:
        active = (path == item.href) | (path == item.href + "/")
    else:
        active = (path == item.href) | path.startswith(item.href + "/")  # type: ignore[attr-defined]

    link = rx.link(
        rx.hstack(
            rx.icon(item.icon, size=16, aria_hidden="true"),
            rx.text(item.label, size="2", weight="medium"),
            rx.cond(
                (item.href == routes.PORTAL_INVOICES) & (P.unpaid > 0),
                rx.badge(
                    P.unpaid,
                    color_scheme="red",
                    variant="solid",
                    radius="full",
                    aria_label=P.unpaid.to_string() + " unpaid",  # type: ignore[attr-defined]
                ),
            ),
            spacing="2",
            align="center",
            padding_x="12px",
            padding_y="10px",
            border_bottom=rx.cond(
                active, f"2px solid {rx.color('accent', 9)}", "2px solid transparent"
            ),
            color=rx.cond(active, rx.color("accent", 12), rx.color("gray", 11)),
            white_space="nowrap",
        ),
        href=item.href,
        underline="none",
        id=f"portal-nav-{item.label.lower()}",
        aria_current=rx.cond(active, "page", "false"),
    )
    if item.href == routes.PORTAL_SECURITY:
        return rx.cond(~P.preview, link)  # a preview has no account of its own
    if item.permission is None:
        return link
    return rx.cond(P.granted.contains(item.permission.value), link)  # type: ignore[attr-defined]


def _brand_mark() -> rx.Component:
    """The brand's logo (or name) linking home; nothing until the look has arrived."""
    return rx.cond(P.brand_name != "", _brand_link())


def _brand_link(logo_src: Any = P.logo_url) -> rx.Component:
    return rx.link(
        rx.cond(
            P.logo_url != "",
            rx.image(src=logo_src, alt=P.brand_name, height=LOGO_HEIGHT, max_width="160px"),
            rx.text(P.brand_name, weight="bold", size="4"),
        ),
        href=routes.PORTAL,
        underline="none",
        color=rx.color("gray", 12),
        id="portal-brand",
    )


# The logo of the brand of the page's host (else the default brand's) at one address for
# every brand: a page branded by its host alone (sign-in, password reset) has it in its
# prerendered HTML, so the logo paints with the page instead of after its script has run.
HOST_LOGO = "/api/portal/brand-logo"


def _host_brand_mark() -> rx.Component:
    """The brand mark of a page whose brand is the host's: the host logo from the first
    paint (a transparent pixel when the brand has none), then the name if there is no logo."""
    src = routes.built_backend_path(HOST_LOGO)
    return rx.cond(
        P.status == "loading",
        rx.image(src=src, alt="", height=LOGO_HEIGHT, max_width="160px"),
        _brand_link(src),
    )


def _client_switcher() -> rx.Component:
    return rx.cond(
        P.clients.length() > 1,  # type: ignore[attr-defined,operator]
        rx.el.select(
            rx.foreach(
                P.clients,
                lambda c: rx.el.option(c["name"], value=c["id"]),
            ),
            value=P.client_id,
            on_change=P.switch_client,
            aria_label="Client",
            id="portal-client-switcher",
            style={
                "padding": "6px 8px",
                "border_radius": "6px",
                "border": f"1px solid {rx.color('gray', 7)}",
                "background": rx.color("gray", 1),
                "max_width": "200px",
            },
        ),
        rx.text(P.client_name, size="2", color_scheme="gray", id="portal-client-name"),
    )


def _user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.avatar(fallback=P.user_name[:1], size="1", radius="full"),
                rx.text(P.user_name, size="2", display=["none", "none", "inline"]),
                visually_hidden(" (your account)"),
                rx.icon("chevron-down", size=14, aria_hidden="true"),
                variant="ghost",
                color_scheme="gray",
                id="portal-user-menu",
            )
        ),
        rx.menu.content(
            rx.box(
                rx.text(P.user_name, size="2", weight="medium"),
                rx.text(P.user_email, size="1", color_scheme="gray"),
                padding="8px",
            ),
            rx.menu.separator(),
            rx.cond(
                ~P.preview,
                rx.menu.item(
                    rx.hstack(rx.icon("shield-check", size=16), rx.text("Security")),
                    on_click=rx.redirect(routes.PORTAL_SECURITY),
                ),
            ),
            rx.menu.item(
                rx.hstack(
                    rx.icon("log-out", size=16),
                    rx.text(rx.cond(P.preview, "Leave preview", "Sign out")),
                ),
                on_click=P.sign_out,
                id="portal-sign-out",
            ),
        ),
    )


def _footer() -> rx.Component:
    return rx.el.footer(
        rx.vstack(
            rx.hstack(
                rx.cond(
                    P.support_email != "",
                    rx.link(
                        P.support_email,
                        href="mailto:" + P.support_email,
                        size="2",
                        id="portal-support-email",
                    ),
                ),
                rx.cond(
                    P.support_url != "",
                    rx.link("Help", href=P.support_url, size="2", is_external=True),
                ),
                spacing="4",
                wrap="wrap",
            ),
            rx.text(P.footer, size="1", color_scheme="gray", white_space="pre-line"),
            spacing="2",
            width="100%",
            max_width="960px",
            margin_x="auto",
            padding="24px 16px",
        ),
        border_top=f"1px solid {rx.color('gray', 5)}",
        width="100%",
    )


# The accent scale of the brand of the page's host (else the default brand's) as a stylesheet
# at one address for every brand, for the pages branded by their host alone: their first paint
# has the brand's colours, not the theme's default ones.
HOST_THEME = "/api/portal/brand.css"


def _themed(*children: rx.Component, host_theme: bool = False) -> rx.Component:
    """The brand's exact colour as Radix's accent scale on everything inside; the brand's logo
    as the tab's icon (React puts the link in the document's head)."""
    first = [rx.el.link(rel="stylesheet", href=routes.built_backend_path(HOST_THEME))]
    return rx.box(
        *(first if host_theme else []),
        rx.cond(P.logo_url != "", rx.el.link(rel="icon", href=P.logo_url)),
        *children,
        class_name=portal_brand.HOST_THEME_CLASS if host_theme else "",
        style=P.theme,
        min_height="100vh",
        display="flex",
        flex_direction="column",
        background=rx.color("gray", 1),
    )


def _preview_banner() -> rx.Component:
    """Above a staff member's read-only preview: whose portal it is and the way back."""
    return rx.cond(
        P.preview,
        rx.hstack(
            rx.icon("eye", size=16, aria_hidden="true"),
            rx.text(
                "Preview of ",
                rx.el.strong(P.client_name),
                "'s portal, as a view-only user sees it. Nothing can be changed here.",
                size="2",
            ),
            rx.spacer(),
            rx.button(
                "Leave preview",
                on_click=P.sign_out,  # a preview's sign-out leaves it (ui/session/portal.py)
                size="1",
                variant="outline",
                color_scheme="amber",
                high_contrast=True,
                id="portal-leave-preview",
            ),
            role="status",
            align="center",
            spacing="2",
            width="100%",
            padding="8px 16px",
            background=rx.color("amber", 3),
            border_bottom=f"1px solid {rx.color('amber', 6)}",
            color=rx.color("amber", 12),
            id="portal-preview-banner",
            wrap="wrap",
        ),
    )


def portal_page(title: str, content: Callable[[], rx.Component]) -> rx.Component:
    """A signed-in portal page: header, navigation, ``content`` in the main landmark."""
    header = rx.el.header(
        rx.hstack(
            _brand_mark(),
            rx.spacer(),
            _client_switcher(),
            _user_menu(),
            align="center",
            spacing="3",
            width="100%",
            max_width="960px",
            margin_x="auto",
            padding="12px 16px",
            min_height="56px",  # the logo and 12px of padding above and below
        ),
        rx.el.nav(
            # The tabs come all at once with the page's first data (the role decides which):
            # tabs added beside tabs already shown would move them, and on a phone the
            # second row they wrap onto would push the page down (layout shift).
            rx.cond(
                P.status != "loading",
                rx.hstack(
                    *[_nav_link(item) for item in NAV],
                    spacing="1",
                    width="100%",
                    max_width="960px",
                    margin_x="auto",
                    padding_x="8px",
                    # On a phone the tabs wrap onto a second row: every tab, the current one
                    # included, stays in sight (a sideways-scrolling bar hid the last ones).
                    flex_wrap=["wrap", "wrap", "nowrap"],
                ),
            ),
            aria_label="Portal",
        ),
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        width="100%",
    )
    body = rx.match(
        P.status,
        (
            "ok",
            rx.vstack(
                payment_banner(P.status, P.alerts, P.alerts_more, P.granted),
                rx.heading(title, size="6", as_="h1"),
                content(),
                spacing="4",
            ),
        ),
        (
            "denied",
            rx.callout(
                "Your role does not include this page. Ask a colleague with full access.",
                icon="lock",
                color_scheme="amber",
                id="portal-not-allowed",
            ),
        ),
        rx.fragment(),
    )
    return _themed(
        _preview_banner(),
        rx.cond(P.status == "loading", overlay_spinner()),
        header,
        rx.el.main(
            body,
            width="100%",
            max_width="960px",
            margin_x="auto",
            padding="24px 16px",
            flex="1",
        ),
        # The footer comes with the page too: shown at the foot of the empty page, it would
        # jump down when the page filled.
        rx.cond(P.status != "loading", _footer()),
    )


def portal_public_page(
    title: str, subtitle: str | rx.Var[str], *children: rx.Component, host_brand: bool = False
) -> rx.Component:
    """A page shown before signing in: the brand above a card, in the main landmark.
    ``host_brand``: the page's brand is always its host's (else the default), never a
    client's, so its logo and colours can be in the prerendered page."""
    mark = _host_brand_mark() if host_brand else _brand_mark()
    return _themed(
        rx.el.main(
            rx.center(
                rx.card(
                    rx.vstack(
                        rx.center(mark, width="100%", padding_bottom="8px", min_height="40px"),
                        rx.heading(title, size="6", as_="h1"),
                        rx.text(subtitle, color_scheme="gray", size="2"),
                        *children,
                        spacing="3",
                        width="100%",
                    ),
                    width="100%",
                    max_width="420px",
                    size="4",
                ),
                padding="16px",
                padding_top="10vh",
            ),
            flex="1",
        ),
        _footer(),
        host_theme=host_brand,
    )


def portal_title(title: str) -> Any:
    """A portal page's browser title: the brand's name and the page (never our product's)."""
    return rx.cond(P.brand_name != "", P.brand_name + " · " + title, title)
