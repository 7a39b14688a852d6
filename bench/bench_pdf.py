"""Benchmark of the invoice PDF renderer against WeasyPrint and headless Chromium.

Run: .venv/bin/python bench/bench_pdf.py [--quick]

Renders the same invoice - a 1-page invoice (3 lines) and a 10-page invoice (~300 one-line
lines), both with a PNG logo - three ways and prints the median time of each beside its
target:

* ours:      billing_app.adapters.pdf.render_invoice_pdf (fpdf2, embedded DejaVu subset),
             warm process (fonts parsed once, as in the running app);
* WeasyPrint: an equivalent HTML/CSS invoice (same content, same font family, logo as a
             data: URI, repeating table header, page n / N footer), `HTML(string).write_pdf()`;
* Chromium:  the same HTML printed by Debian's Chromium through Playwright with a warm
             browser and page, timing `page.set_content()` + `page.pdf()`.

Targets: one page <= 25 ms; at least 5x faster than WeasyPrint and 10x faster than
Chromium. WeasyPrint or Chromium missing is reported and the rest still runs.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from billing_app.adapters.pdf import InvoiceDocument, render_invoice_pdf
from billing_app.domain.money import Money, format_money
from tests.integration.test_pdf import png_logo, sample_document

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGET_ONE_PAGE_MS = 25.0
TARGET_VS_WEASYPRINT = 5.0
TARGET_VS_CHROMIUM = 10.0

# One-line descriptions, so ~30 rows fit a page as on a typical long invoice.
SHORT_DESCRIPTIONS = (
    "Development — checkout flow",
    "Design review (Zürich)",
    "Hosting — façade site",
    "Ads pass-through (£ / ¥)",
    "Support — café menu",
    "SEO audit follow-up",
)


# --------------------------------------------------------------------------- documents


def documents() -> dict[str, InvoiceDocument]:
    logo = png_logo()
    one = sample_document(3, logo=logo)
    ten = sample_document(270, logo=logo, descriptions=SHORT_DESCRIPTIONS)
    return {"1 page (3 lines)": one, f"10 pages ({len(ten.lines)} lines)": ten}


def page_count(pdf: bytes) -> int:
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf is a dev dependency
        return len(re.findall(rb"/Type\s*/Page\b", pdf))
    return len(PdfReader(io.BytesIO(pdf)).pages)


# --------------------------------------------------------------------------- HTML version

CSS = """
* { box-sizing: border-box; }
body { font: 9pt/1.38 "DejaVu Sans", sans-serif; color: #1f2937; margin: 0; }
.band { position: fixed; top: -16mm; left: -18mm; right: -18mm; height: 3mm;
  background: var(--primary); }
.head { display: flex; justify-content: space-between; }
.logo { max-width: 60mm; max-height: 20mm; }
.agency .name { font-weight: bold; margin-top: 4mm; }
.muted { color: #6b7280; font-size: 8pt; }
h1 { color: var(--primary); font-size: 20pt; margin: 0; text-align: right; }
.meta td { padding: 0.3mm 0 0.3mm 5mm; text-align: right; }
.meta td:first-child { color: #6b7280; font-size: 8pt; }
.meta td:last-child { font-weight: bold; }
.parties { display: flex; justify-content: space-between; margin-top: 7mm; }
.label { color: var(--accent); font-weight: bold; font-size: 6.8pt; text-transform: uppercase; }
.client .company { font-weight: bold; font-size: 10.5pt; overflow-wrap: anywhere; }
.card { width: 62mm; height: 24mm; background: var(--tint); border-left: 1.2mm solid var(--accent);
  padding: 3mm 5mm; }
.card .amount { color: var(--primary); font-weight: bold; font-size: 17pt; }
table.lines { width: 100%; border-collapse: collapse; margin-top: 9mm; }
table.lines thead { display: table-header-group; }
table.lines th { background: var(--primary); color: #fff; font-size: 6.8pt;
  text-transform: uppercase; padding: 2.2mm; text-align: right; }
table.lines th:first-child, table.lines td:first-child { text-align: left; }
table.lines td { padding: 2.1mm 2.2mm; text-align: right; vertical-align: top;
  border-bottom: 0.2mm solid #e2e6ec; }
table.lines tr { break-inside: avoid; }
table.lines td:last-child { font-weight: bold; }
.after { display: flex; justify-content: space-between; align-items: flex-start;
  break-inside: avoid; }
.stamp { margin: 12mm 0 0 20mm; transform: rotate(-12deg); border: 0.9mm solid var(--stamp);
  color: var(--stamp); border-radius: 2.5mm; padding: 2mm 6mm; font: bold 22pt "DejaVu Sans"; }
table.totals { width: 84mm; border-collapse: collapse; margin-top: 3mm; }
table.totals td { padding: 0.65mm 3mm; } table.totals td:last-child { text-align: right; }
table.totals .note { color: #9ca3af; font-size: 7.5pt; }
table.totals .total td { border-top: 0.4mm solid var(--primary); font-weight: bold; font-size: 11pt;
  padding-top: 2mm; }
table.totals .due td { background: var(--accent-tint); color: var(--accent); font-weight: bold;
  font-size: 10pt; padding: 2mm 3mm; }
.notes { width: 72%; margin-top: 6mm; } .notes p { margin: 0 0 3.5mm; color: #374151; }
"""


def page_css(footer: str) -> str:
    """A4 with the footer and "Page n / N" in the page margin boxes."""
    footer = footer.replace("\\", "\\\\").replace('"', '\\"')
    return f"""@page {{ size: A4; margin: 16mm 18mm 22mm 18mm;
  @bottom-left {{ content: "{footer}"; font: 7.5pt "DejaVu Sans"; color: #6b7280; }}
  @bottom-right {{ content: "Page " counter(page) " / " counter(pages);
    font: 7.5pt "DejaVu Sans"; color: #6b7280; }} }}"""


def invoice_html(doc: InvoiceDocument, logo_png: bytes) -> str:
    """The same invoice as HTML/CSS, for WeasyPrint and Chromium."""
    esc = html.escape

    def money(amount: Money) -> str:
        return esc(format_money(amount, doc.locale))

    def day(value: object) -> str:
        return esc(format_date(value, "medium", locale=doc.locale))  # type: ignore[arg-type]

    logo = base64.b64encode(logo_png).decode()
    agency = doc.agency
    client = doc.client
    rows = "".join(
        f"<tr><td>{esc(line.description)}</td>"
        f"<td>{esc(format_decimal(line.quantity, locale=doc.locale))}</td>"
        f"<td>{money(line.unit_price)}</td><td>{esc(line.discount)}</td>"
        f"<td>{esc(line.tax)}</td><td>{money(line.amount)}</td></tr>"
        for line in doc.lines
    )
    taxes = "".join(
        f"<tr><td>{esc(row.name)} "
        f"{esc(format_percent(row.percent / 100, locale=doc.locale, decimal_quantization=False))}"
        f" <span class=note>on {money(row.taxable_amount or row.amount)}</span></td>"
        f"<td>{money(row.amount)}</td></tr>"
        for row in doc.tax_rows
    )
    discount = doc.discount_total or Money(0, doc.currency)
    stamp = doc.stamp.value.upper() if doc.stamp else ""
    brand = doc.brand
    portal = doc.portal_url or ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<style>:root {{ --primary: {brand.primary_color}; --accent: {brand.accent_color};
  --tint: #eef6f5; --accent-tint: #f9ece6; --stamp: #dc2626; }}
{page_css(f"{brand.footer_text} {brand.support_email} · {brand.support_url}")}
{CSS}</style></head><body>
<div class="band"></div>
<div class="head"><div class="agency"><img class="logo" src="data:image/png;base64,{logo}">
  <div class="name">{esc(agency.legal_name)}</div>
  <div class="muted">{"<br>".join(esc(line) for line in agency.address_lines)}<br>
  Tax ID: {esc(agency.tax_id)}</div></div>
  <div><h1>INVOICE</h1><table class="meta">
  <tr><td>Invoice no.</td><td>{esc(doc.number or "DRAFT")}</td></tr>
  <tr><td>Issue date</td><td>{day(doc.issue_date)}</td></tr>
  <tr><td>Due date</td><td>{day(doc.due_date)}</td></tr></table></div></div>
<div class="parties"><div class="client"><div class="label">Bill to</div>
  <div class="company">{esc(client.company)}</div>
  <div>{esc(client.contact_name)}<br>{"<br>".join(esc(line) for line in client.address_lines)}<br>
  {esc(client.email)}<br>{esc(client.website or "")}<br>Tax ID: {esc(client.tax_id)}</div></div>
  <div class="card"><div class="label" style="color:#6b7280">Amount due</div>
  <div class="amount">{money(doc.amount_due)}</div>
  <div class="muted">Due {day(doc.due_date)}</div></div></div>
<table class="lines"><thead><tr><th>Description</th><th>Qty</th><th>Unit price</th>
  <th>Discount</th><th>Tax</th><th>Amount</th></tr></thead><tbody>{rows}</tbody></table>
<div class="after"><div class="stamp">{stamp}</div><table class="totals">
  <tr><td>Subtotal</td><td>{money(doc.subtotal)}</td></tr>
  <tr><td>Discount</td><td>{money(-discount)}</td></tr>{taxes}
  <tr class="total"><td>Total</td><td>{money(doc.total)}</td></tr>
  <tr class="due"><td>Amount due</td><td>{money(doc.amount_due)}</td></tr></table></div>
<div class="notes"><div class="label">Notes</div><p>{esc(doc.message)}</p>
  <div class="label">Payment terms</div><p>{esc(doc.payment_terms)}</p>
  <div class="label">Pay online</div>
  <p><a href="{esc(portal)}">{esc(portal)}</a></p></div>
</body></html>"""


# --------------------------------------------------------------------------- timing


def median_ms(render: Callable[[], bytes], runs: int, warmup: int = 2) -> tuple[float, int]:
    for _ in range(warmup):
        output = render()
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        output = render()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, page_count(output)


def bench_ours(docs: dict[str, InvoiceDocument], runs: int) -> dict[str, tuple[float, int]]:
    return {
        name: median_ms(lambda doc=doc: render_invoice_pdf(doc), runs) for name, doc in docs.items()
    }


def bench_weasyprint(htmls: dict[str, str], runs: int) -> dict[str, tuple[float, int]] | str:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        return f"unavailable ({exc.__class__.__name__}: {exc})"
    results: dict[str, tuple[float, int]] = {}
    for name, source in htmls.items():
        results[name] = median_ms(
            lambda source=source: weasyprint.HTML(string=source).write_pdf(),
            max(3, runs // 3),
            warmup=1,
        )
    return results


def bench_chromium(htmls: dict[str, str], runs: int) -> dict[str, tuple[float, int]] | str:
    if not Path(CHROMIUM).exists():
        return f"unavailable ({CHROMIUM} not found)"
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        return f"unavailable (playwright: {exc})"
    results: dict[str, tuple[float, int]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            for name, source in htmls.items():

                def render(source: str = source) -> bytes:
                    page.set_content(source)
                    return page.pdf(format="A4", print_background=True)

                results[name] = median_ms(render, max(3, runs // 3), warmup=1)
            browser.close()
    except Error as exc:
        return f"unavailable (Chromium failed: {exc})"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="Invoice PDF rendering benchmark")
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 7 if args.quick else 21

    docs = documents()
    logo = png_logo()
    htmls = {name: invoice_html(doc, logo) for name, doc in docs.items()}
    print("Invoice PDF benchmark - median wall time per document, warm process")
    ours = bench_ours(docs, runs)
    weasy = bench_weasyprint(htmls, runs)
    chromium = bench_chromium(htmls, runs)

    print()
    print(f"{'document':<24}{'ours':>20}{'WeasyPrint':>22}{'Chromium':>22}")
    for name in docs:
        ours_ms, ours_pages = ours[name]
        cells = [f"{ours_ms:8.1f} ms ({ours_pages:2d} p)"]
        for other in (weasy, chromium):
            if isinstance(other, str):
                cells.append("n/a")
            else:
                ms, pages = other[name]
                cells.append(f"{ms:8.1f} ms ({pages:2d} p)")
        print(f"{name:<24}{cells[0]:>20}{cells[1]:>22}{cells[2]:>22}")

    print()
    print("ratios (how many times faster ours is) and targets:")
    for name in docs:
        ours_ms = ours[name][0]
        parts = []
        if name.startswith("1 page"):
            verdict = "ok" if ours_ms <= TARGET_ONE_PAGE_MS else "MISSED"
            parts.append(
                f"ours {ours_ms:.1f} ms vs target <= {TARGET_ONE_PAGE_MS:.0f} ms [{verdict}]"
            )
        for label, other, target in (
            ("WeasyPrint", weasy, TARGET_VS_WEASYPRINT),
            ("Chromium", chromium, TARGET_VS_CHROMIUM),
        ):
            if isinstance(other, str):
                parts.append(f"{label}: n/a")
                continue
            ratio = other[name][0] / ours_ms
            verdict = "ok" if ratio >= target else "MISSED"
            parts.append(f"{ratio:5.1f}x vs {label} (target >= {target:.0f}x) [{verdict}]")
        print(f"  {name}: " + "; ".join(parts))
    for label, other in (("WeasyPrint", weasy), ("Chromium", chromium)):
        if isinstance(other, str):
            print(f"{label} {other}")


if __name__ == "__main__":
    main()
