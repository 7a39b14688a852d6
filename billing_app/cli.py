"""Command line: ``python -m billing_app COMMAND``.

create-owner     create the first account (the owner) from a shell
deliver-emails   deliver the emails that are due now (the app does this by itself)
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from billing_app.db.engine import session_scope
from billing_app.services import auth
from billing_app.services.errors import ServiceError


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("BILLING_OWNER_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        msg = "No terminal: pass --password-stdin or set BILLING_OWNER_PASSWORD."
        raise SystemExit(msg)
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Confirm password: "):
        msg = "The two passwords differ."
        raise SystemExit(msg)
    return first


def create_owner(args: argparse.Namespace) -> int:
    with session_scope() as session:
        if not auth.setup_required(session):
            print("This installation already has an owner. Sign in instead.", file=sys.stderr)
            return 1
    password = _read_password(args)
    try:
        with session_scope() as session:
            auth.create_owner(session, name=args.name, email=args.email, password=password)
    except ServiceError as exc:
        print(f"Error ({exc.field or 'input'}): {exc.message}", file=sys.stderr)
        return 2
    print(f"Owner account created for {args.email.strip().lower()}. Sign in at /login.")
    return 0


def deliver_emails(_: argparse.Namespace) -> int:
    from billing_app.adapters.mailer import mailer_from_settings
    from billing_app.db.engine import get_engine
    from billing_app.services.outbox import deliver_due
    from billing_app.settings import get_settings

    settings = get_settings()
    report = deliver_due(get_engine(), mailer_from_settings(settings), settings=settings)
    print(f"{report.sent} sent, {report.failed} failed")
    return 0 if report.failed == 0 else 1


def banner(args: argparse.Namespace) -> int:
    from billing_app.settings import get_settings

    settings = get_settings()
    url = "http://localhost:3000" if args.dev else settings.public_base_url
    with session_scope() as session:
        needs_owner = auth.setup_required(session)
    lines = [
        "",
        f"  Client Billing is starting at {url}",
        f"  Data: {settings.resolved_database_url.removeprefix('sqlite:///')}",
    ]
    if needs_owner:
        lines += [
            "  No account exists yet. Create the owner on the first visit (a one-time setup",
            "  page), or from a shell:",
            "    .venv/bin/python -m billing_app create-owner \\",
            "        --name 'Your Name' --email you@example.com",
        ]
    else:
        lines.append(f"  Sign in at {url}/login")
    mail = f"SMTP {settings.smtp_host}" if settings.smtp_host else f"files in {settings.outbox_dir}"
    lines += [f"  Emails go to: {mail}", "  Stop with Ctrl+C.", ""]
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_app")
    sub = parser.add_subparsers(dest="command", required=True)
    owner = sub.add_parser("create-owner", help="create the first account (the owner)")
    owner.add_argument("--name", required=True)
    owner.add_argument("--email", required=True)
    owner.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    owner.set_defaults(func=create_owner)
    emails = sub.add_parser("deliver-emails", help="deliver the emails that are due now")
    emails.set_defaults(func=deliver_emails)
    info = sub.add_parser("banner", help="print where the app runs and how to start")
    info.add_argument("--dev", action="store_true")
    info.set_defaults(func=banner)
    args = parser.parse_args(argv)
    return int(args.func(args))
