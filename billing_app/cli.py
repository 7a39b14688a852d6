"""Command line: ``python -m billing_app COMMAND``.

create-owner     create the first account (the owner) from a shell
deliver-emails   deliver the emails that are due now (the app does this by itself)
seed-demo        fill the database with demo clients, products and subscriptions
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date
from pathlib import Path

from billing_app.db.engine import session_scope
from billing_app.services.access import auth
from billing_app.services.common.errors import FORM, ServiceError, ValidationFailed


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
        problems = exc.errors if isinstance(exc, ValidationFailed) else {exc.field: exc.message}
        for field, message in problems.items():
            label = "input" if field in (None, FORM) else field
            print(f"Error ({label}): {message}", file=sys.stderr)
        return 2
    print(f"Owner account created for {args.email.strip().lower()}. Sign in at /login.")
    return 0


def deliver_emails(_: argparse.Namespace) -> int:
    from billing_app.adapters.mailer import mailer_from_settings
    from billing_app.db.engine import get_engine
    from billing_app.services.common.outbox import deliver_due
    from billing_app.settings import get_settings

    settings = get_settings()
    report = deliver_due(get_engine(), mailer_from_settings(settings), settings=settings)
    print(f"{report.sent} sent, {report.failed} failed")
    return 0 if report.failed == 0 else 1


def billing_run(args: argparse.Namespace) -> int:
    from billing_app.db.engine import get_engine
    from billing_app.domain.money import Money, format_money
    from billing_app.services.billing import renewals

    engine = get_engine()
    report = renewals.billing_run(engine, today=args.now, dry_run=args.dry_run)
    verb = "would bill" if args.dry_run else "billed"
    print(f"{report.today.isoformat()}: {verb} {report.periods} period(s)")
    for currency, amount in sorted(report.amounts.items()):
        print(f"  {format_money(Money(amount, currency), 'en')} before taxes ({currency})")
    if not args.dry_run:
        from billing_app.services.reporting.renewal_forecast import refresh_forecast_now

        refresh_forecast_now(engine)
        numbers = report.invoices
        shown = ", ".join(numbers) if len(numbers) <= 10 else f"{numbers[0]} ... {numbers[-1]}"
        made = report.seconds.get("invoices", 0.0)
        print(f"{len(numbers)} invoice(s) in {made:.1f} s: {shown or '-'}")
        if report.skipped:
            print(f"{report.skipped} invoice(s) already made by another run: skipped")
        if report.charges is not None:
            charged = report.charges
            print(
                f"automatic charges: {charged.paid} paid, {charged.failed} failed, "
                f"{charged.action} waiting for the client, {charged.pending} pending"
            )
        print(f"{report.documents} PDF(s) rendered and email(s) queued after")
    if report.held:
        print(f"{report.held} period(s) beyond the catch-up limit held for staff")
    for sub_id in report.runaways:
        print(f"refused subscription {sub_id}: too many periods due (check its start date)")
    if not args.dry_run:
        from billing_app.services.billing.dunning import run_dunning

        dunning = run_dunning(engine)
        retried, reminded = dunning.retried, dunning.reminders
        print(f"dunning: {retried} retried ({dunning.paid} paid), {reminded} reminder(s)")
    if args.dry_run:
        coming = renewals.upcoming_renewals(engine, report.today)
        print(f"Then until {coming.until.isoformat()}:")
        for currency in sorted(coming.amounts):
            total = format_money(Money(coming.amounts[currency], currency), "en")
            print(f"  {coming.periods[currency]} renewal(s), {total} before taxes ({currency})")
    return 1 if report.runaways else 0


def banner(args: argparse.Namespace) -> int:
    from billing_app.adapters import crypto
    from billing_app.services.access.secrets_check import SecretKeyProblem, check_secret_key
    from billing_app.settings import get_settings

    settings = get_settings()
    url = "http://localhost:3000" if args.dev else settings.public_base_url
    with session_scope() as session:
        # `make run` stops here rather than start without the key (docs/security.md item 48).
        try:
            check_secret_key(session, settings)
        except SecretKeyProblem as exc:
            print(f"\nError: {exc.message}\n", file=sys.stderr)
            return 1
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
    key = (
        "BILLING_SECRET_KEY"
        if crypto.key_from_environment(settings)
        else f"{crypto.key_file(settings)} (backups carry it)"
    )
    lines += [f"  Emails go to: {mail}", f"  Secret key: {key}", "  Stop with Ctrl+C.", ""]
    print("\n".join(lines))
    return 0


def seed_demo(args: argparse.Namespace) -> int:
    import time

    from billing_app.db.engine import get_engine
    from billing_app.services.customers.demo import seed_demo as seed

    if args.clients < 1 or args.clients > 1_000_000:
        print("Error (--clients): give a number from 1 to 1,000,000.", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report = seed(
        get_engine(args.database_url or None),
        clients=args.clients,
        subscriptions_per_client=args.subscriptions_per_client,
        seed=args.seed,
    )
    print(
        f"{report.clients:,} clients, {report.websites:,} websites, "
        f"{report.subscriptions:,} subscriptions and {report.products} products added "
        f"in {time.perf_counter() - started:.1f} s."
    )
    return 0


def backup(args: argparse.Namespace) -> int:
    from billing_app.adapters import crypto
    from billing_app.adapters.backup import BackupError, create_backup
    from billing_app.services.common.clock import system_clock
    from billing_app.settings import get_settings

    settings = get_settings()
    output = args.output or settings.data_dir.resolve() / "backups"
    try:
        path = create_backup(
            settings.resolved_database_url,
            settings.data_dir.resolve(),
            output,
            now=system_clock.now(),
            secret_key_in_environment=crypto.key_from_environment(settings),
        )
    except BackupError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"Backup written to {path}")
    if crypto.key_from_environment(settings):
        print("It does not hold BILLING_SECRET_KEY: keep that key safe with your backups.")
    return 0


def restore(args: argparse.Namespace) -> int:
    from billing_app.adapters.backup import BackupError, restore_backup
    from billing_app.settings import get_settings

    settings = get_settings()
    try:
        restored = restore_backup(
            args.archive,
            settings.resolved_database_url,
            settings.data_dir.resolve(),
            force=args.force,
        )
    except BackupError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print("Restored. Run the migrations (make migrate) if the backup is from an older version.")
    if restored.key_file is not None:
        print(f"The secret key is in {restored.key_file}.")
    if restored.replaced_key is not None:
        print(f"The secret key that was there is kept as {restored.replaced_key}.")
    if restored.key_from_environment:
        print("Its secrets are encrypted with BILLING_SECRET_KEY: set the same key as then.")
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
    run_cmd = sub.add_parser("billing-run", help="bill the subscription periods that are due")
    run_cmd.add_argument(
        "--now",
        type=date.fromisoformat,
        default=None,
        help="the agency's date to bill for (YYYY-MM-DD; default: today)",
    )
    run_cmd.add_argument(
        "--dry-run", action="store_true", help="say what would be billed; write nothing"
    )
    run_cmd.set_defaults(func=billing_run)
    info = sub.add_parser("banner", help="print where the app runs and how to start")
    info.add_argument("--dev", action="store_true")
    info.set_defaults(func=banner)
    demo = sub.add_parser("seed-demo", help="fill the database with demo data (bulk inserts)")
    demo.add_argument("--clients", type=int, default=50)
    demo.add_argument("--subscriptions-per-client", type=int, default=3)
    demo.add_argument("--seed", type=int, default=4, help="random seed (same seed, same data)")
    demo.add_argument("--database-url", default="", help="default: the configured database")
    demo.set_defaults(func=seed_demo)
    backup_cmd = sub.add_parser("backup", help="write a consistent backup (safe while running)")
    backup_cmd.add_argument(
        "--output", type=Path, default=None, help="folder for the archive (default: data/backups)"
    )
    backup_cmd.set_defaults(func=backup)
    restore_cmd = sub.add_parser("restore", help="restore a backup archive")
    restore_cmd.add_argument("archive", type=Path)
    restore_cmd.add_argument("--force", action="store_true", help="replace the existing database")
    restore_cmd.set_defaults(func=restore)
    args = parser.parse_args(argv)
    return int(args.func(args))
