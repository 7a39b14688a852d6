"""Demo data at agency scale: tax rates, a catalog, N clients with websites and ~3 subscriptions
each, written with bulk inserts (50,000 clients and 150,000 subscriptions in seconds).

Stored figures are computed exactly as the services do (subscription.mrr_minor with
domain/mrr.monthly_amount, client.mrr_minor with mrr_total over its renewing subscriptions), so
the demo database satisfies the same invariant as one built through the services.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from billing_app.db.customers import (
    Client,
    ClientWebsite,
    Product,
    ProductTaxRate,
    Subscription,
    TaxRateRow,
)
from billing_app.domain.money import Money, div_half_up
from billing_app.domain.mrr import RecurringPrice, monthly_amount, mrr_total
from billing_app.domain.periods import Interval, IntervalUnit, next_renewal
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.customers.clients import search_text_of

BATCH = 5000

CATALOG = (
    # name, price (EUR cents), billing type, unit, count
    ("Managed hosting", 2500, "recurring", "month", 1),
    ("Site care plan", 7900, "recurring", "month", 1),
    ("Security monitoring", 1900, "recurring", "week", 4),
    ("Domain renewal", 1500, "recurring", "year", 1),
    ("Daily backups", 500, "recurring", "week", 1),
    ("SEO retainer", 30000, "recurring", "month", 3),
    ("Priority support", 120000, "recurring", "year", 1),
    ("Website setup", 50000, "one_time", "", 1),
)
CURRENCIES = (("EUR", 85), ("USD", 10), ("GBP", 5))
STATUSES = (("active", 80), ("trialing", 4), ("paused", 5), ("canceled", 5), ("ended", 6))
WORDS = [
    "Acme",
    "Nordic",
    "Blue",
    "Pixel",
    "Green",
    "Studio",
    "Atelier",
    "Bakery",
    "Garden",
    "Lumen",
    "Vista",
    "Harbor",
    "Summit",
    "Pine",
    "Coral",
    "Copper",
    "Maple",
    "Cedar",
    "Alpine",
    "River",
    "Stone",
    "Orbit",
    "Nova",
    "Tandem",
    "Velvet",
    "Amber",
    "Echo",
    "Fjord",
]
KINDS = [
    "Bakery",
    "Café",
    "Dental",
    "Legal",
    "Consulting",
    "Architects",
    "Fitness",
    "Florist",
    "Gallery",
    "Hotel",
    "Labs",
]
FIRST = [
    "Amélie",
    "Noah",
    "Léa",
    "Lucas",
    "Emma",
    "Hugo",
    "Mia",
    "Louis",
    "Zoé",
    "Jules",
    "Anna",
    "Oskar",
    "Ines",
    "Felix",
    "Sofia",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Laurent",
    "Moreau",
    "Schmidt",
    "Weber",
    "Rossi",
    "Costa",
    "Novak",
    "Berg",
    "Jansen",
]


@dataclass(frozen=True)
class SeedReport:
    clients: int
    websites: int
    subscriptions: int
    products: int


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _next_id(conn: sa.Connection, table: sa.Table) -> int:
    return (
        int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()) + 1
    )


def _sqlite_value(value: object) -> object:
    """What SQLAlchemy would store on SQLite: UTC text timestamps, ISO dates, 0/1 booleans."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _copy_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace('"', '""') + '"'


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    """Bulk insert straight through the driver (execute_values on PostgreSQL, executemany on
    SQLite): several times faster than the ORM for 100,000s of rows."""
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(columns)
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            # COPY in CSV form: text quoted (so "" stays an empty string), None unquoted (NULL)
            buffer = io.StringIO()
            for r in rows:
                buffer.write(",".join(_copy_field(r[c]) for c in columns))
                buffer.write("\n")
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table.name} ({names}) FROM STDIN WITH (FORMAT csv)", buffer)
        else:
            marks = ", ".join("?" for _ in columns)
            # convert only the columns that hold dates, timestamps or booleans
            special = {
                c
                for c in columns
                if any(isinstance(r[c], date | bool) for r in rows[:50])
                or table.c[c].type.python_type in (date, datetime, bool)
            }
            values = [
                tuple(_sqlite_value(r[c]) if c in special else r[c] for c in columns) for r in rows
            ]
            cursor.executemany(
                f"INSERT INTO {table.name} ({names}) VALUES ({marks})",  # noqa: S608
                values,
            )
    finally:
        cursor.close()


def seed_demo(
    engine: sa.Engine,
    *,
    clients: int = 50,
    subscriptions_per_client: int = 3,
    seed: int = 4,
    clock: Clock = system_clock,
) -> SeedReport:
    """Add demo data to the database (existing rows are kept; emails never collide)."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = clock.now()
    today = now.date()
    client_t = Client.__table__  # type: ignore[attr-defined]
    site_t = ClientWebsite.__table__  # type: ignore[attr-defined]
    product_t = Product.__table__  # type: ignore[attr-defined]
    tax_t = TaxRateRow.__table__  # type: ignore[attr-defined]
    ptr_t = ProductTaxRate.__table__  # type: ignore[attr-defined]
    sub_t = Subscription.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        tax_id = _next_id(conn, tax_t)
        conn.execute(
            sa.insert(tax_t),
            [
                {
                    "id": tax_id,
                    "name": "VAT",
                    "rate_ppm": 200_000,
                    "inclusive": False,
                    "archived": False,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        first_product = _next_id(conn, product_t)
        products: list[dict[str, Any]] = []
        for i, (name, list_price, billing, unit, count) in enumerate(CATALOG):
            products.append(
                {
                    "id": first_product + i,
                    "name": name,
                    "description": f"{name} for agency clients.",
                    "image_key": "",
                    "price_minor": list_price,
                    "currency": "EUR",
                    "billing_type": billing,
                    "interval_unit": unit,
                    "interval_count": count,
                    "archived": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        _insert(conn, product_t, products)
        _insert(
            conn,
            ptr_t,
            [{"product_id": p["id"], "tax_rate_id": tax_id, "position": 0} for p in products],
        )
        client_id = _next_id(conn, client_t)
        site_id = _next_id(conn, site_t)
        sub_id = _next_id(conn, sub_t)
        tag = f"{seed}-{client_id}"
        client_rows: list[dict[str, object]] = []
        site_rows: list[dict[str, object]] = []
        sub_rows: list[dict[str, object]] = []
        for n in range(clients):
            cid = client_id + n
            company = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(KINDS)}"
            contact = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            slug = company.lower().replace(" ", "-").replace("é", "e")
            email = f"billing+{tag}-{n}@{slug}.example"
            currency = _weighted(rng, CURRENCIES)
            created = now - timedelta(days=rng.randint(0, 1500), minutes=rng.randint(0, 1440))
            sites = []
            for s in range(rng.choice((1, 1, 2))):
                url = f"https://{'shop.' if s else 'www.'}{slug}-{n}.example"
                sites.append((site_id, "Shop" if s else "Main site", url))
                site_rows.append(
                    {
                        "id": site_id,
                        "client_id": cid,
                        "name": sites[-1][1],
                        "url": url,
                        "created_at": created,
                    }
                )
                site_id += 1
            prices: list[RecurringPrice] = []
            active = 0
            count = max(0, subscriptions_per_client + rng.choice((-1, 0, 0, 1)))
            for _ in range(count):
                product = rng.choice(products)
                status = _weighted(rng, STATUSES)
                start = (created + timedelta(days=rng.randint(0, 60))).date()
                start = min(start, today)
                quantity = rng.choice((1, 1, 1, 2, 3))
                price: int = product["price_minor"]
                recurring = product["billing_type"] == "recurring"
                row: dict[str, object] = {
                    "id": sub_id,
                    "client_id": cid,
                    "product_id": product["id"],
                    "website_id": rng.choice(sites)[0] if sites and rng.random() < 0.7 else None,
                    "kind": "recurring" if recurring else "one_time",
                    "status": status if recurring else "ended",
                    "description": product["name"],
                    "quantity": quantity,
                    "unit_price_minor": price,
                    "currency": currency,
                    "interval_unit": product["interval_unit"],
                    "interval_count": product["interval_count"],
                    "start_date": start,
                    "trial_ends_on": None,
                    "next_renewal_on": None,
                    "cancel_at_period_end": False,
                    "ends_on": None,
                    "pending_quantity": None,
                    "pending_unit_price_minor": None,
                    "mrr_minor": 0,
                    "canceled_at": None,
                    "paused_at": None,
                    "ended_at": None,
                    "created_at": created,
                    "updated_at": created,
                }
                if recurring:
                    interval = Interval(
                        IntervalUnit(product["interval_unit"]), product["interval_count"]
                    )
                    if status == "trialing":
                        row["start_date"] = today - timedelta(days=3)
                        row["trial_ends_on"] = today + timedelta(days=11)
                        row["next_renewal_on"] = row["trial_ends_on"]
                    elif status in ("active", "past_due"):
                        row["next_renewal_on"] = next_renewal(start, interval, today)
                        amount = Money(price, currency)
                        prices.append(RecurringPrice(amount, interval, quantity))
                        exact = monthly_amount(amount, interval, quantity)
                        row["mrr_minor"] = div_half_up(exact.numerator, exact.denominator)
                        active += 1
                    elif status == "paused":
                        row["paused_at"] = now
                    elif status == "canceled":
                        row["cancel_at_period_end"] = True
                        row["canceled_at"] = now
                        row["ends_on"] = next_renewal(start, interval, today)
                    else:
                        row["ended_at"] = now
                        row["ends_on"] = today - timedelta(days=rng.randint(1, 200))
                        row["canceled_at"] = now
                else:
                    row["ended_at"] = created
                sub_rows.append(row)
                sub_id += 1
            totals = mrr_total(prices)
            client_rows.append(
                {
                    "id": cid,
                    "status": "active" if active else rng.choice(("active", "inactive")),
                    "company": company,
                    "contact_name": contact,
                    "email": email,
                    "phone": "+33 1 " + " ".join(str(rng.randint(10, 99)) for _ in range(4)),
                    "address_line1": f"{rng.randint(1, 200)} {rng.choice(WORDS)} Street",
                    "address_line2": "",
                    "city": rng.choice(("Lyon", "Berlin", "Leeds", "Austin", "Oslo", "Porto")),
                    "postal_code": str(rng.randint(10000, 99999)),
                    "region": "",
                    "country": rng.choice(("FR", "DE", "GB", "US", "NO", "PT")),
                    "currency": currency,
                    "locale": "en",
                    "tax_id": "",
                    "notes": "",
                    "search_text": search_text_of(
                        company, contact, email, [(s[1], s[2]) for s in sites]
                    ),
                    "mrr_minor": totals[currency].amount_minor if currency in totals else 0,
                    "active_subscriptions": active,
                    "net_invoiced_minor": 0,
                    "outstanding_minor": 0,
                    "created_at": created,
                    "updated_at": created,
                    "archived_at": None,
                }
            )
        _insert(conn, client_t, client_rows)
        _insert(conn, site_t, site_rows)
        _insert(conn, sub_t, sub_rows)
        if conn.dialect.name == "postgresql":
            for table in ("tax_rate", "product", "client", "client_website", "subscription"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    return SeedReport(
        clients=len(client_rows),
        websites=len(site_rows),
        subscriptions=len(sub_rows),
        products=len(products),
    )


__all__ = ["SeedReport", "seed_demo"]
