"""Invoice PDFs rendered by billing_app.adapters.pdf, read back with pypdf.

Also writes PNG renders (pdftoppm, poppler-utils) to test-artifacts/pdf/ for a look by eye.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from billing_app.adapters.pdf import (
    AgencyBlock,
    Brand,
    ClientBlock,
    InvoiceDocument,
    InvoiceLineRow,
    Stamp,
    TaxRow,
    render_invoice_pdf,
)
from billing_app.domain.bank import BankDetails
from billing_app.domain.invoice_math import (
    InvoiceLineInput,
    PercentDiscount,
    compute_invoice,
    settle,
)
from billing_app.domain.money import Money
from billing_app.domain.tax import TaxRate

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "pdf"

GERMAN_COMPANY = (
    "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft mbH"
)

SVG_LOGO = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="180" height="48" viewBox="0 0 180 48">
  <rect x="0" y="4" width="40" height="40" rx="9" fill="#0f766e"/>
  <path d="M11 32 L20 14 L29 32 Z" fill="#ffffff"/>
  <rect x="52" y="14" width="110" height="8" rx="4" fill="#0f172a"/>
  <rect x="52" y="28" width="74" height="6" rx="3" fill="#94a3b8"/>
</svg>"""

_DESCRIPTIONS = (
    "Website redesign — discovery workshop & UX audit, présentation on site in Lyon (2 days)",
    "Monthly hosting & maintenance: security updates, uptime monitoring, daily off-site "
    "backups and up to 2 hours of small content changes per month",
    "Logo refresh: façade signage for the Zürich shop, proofs for London (£) and Tokyo (¥)",
    "Ad spend pass-through (UK £ and Japan ¥ campaigns, billed at cost)",
    "Copywriting — product pages, crème brûlée menu, naïve café descriptions",
    "Performance tuning",
)


def png_logo(width: int = 360, height: int = 96) -> bytes:
    """A small brand logo made with Pillow (fpdf2's own dependency)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    k = width / 360

    def box(*xy: float) -> list[float]:
        return [v * k for v in xy]

    draw.rounded_rectangle(box(0, 8, 80, 88), radius=18 * k, fill=(15, 118, 110, 255))
    draw.polygon([(22 * k, 68 * k), (40 * k, 28 * k), (58 * k, 68 * k)], fill=(255, 255, 255))
    draw.rounded_rectangle(box(104, 28, 330, 44), radius=8 * k, fill=(15, 23, 42, 255))
    draw.rounded_rectangle(box(104, 56, 250, 68), radius=6 * k, fill=(148, 163, 184, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def sample_document(
    line_count: int = 3,
    *,
    number: str | None = "INV-2024-0042",
    paid: bool = False,
    logo: bytes | None = None,
    stamp: Stamp | None = None,
    locale: str = "en",
    currency: str = "EUR",
    descriptions: tuple[str, ...] = _DESCRIPTIONS,
) -> InvoiceDocument:
    """A realistic invoice with `line_count` lines, its figures computed by the domain.

    Line descriptions cycle through `descriptions`, numbered "(item n)" after the first round.
    """
    vat = TaxRate("VAT", Decimal("20"))
    reduced = TaxRate("VAT", Decimal("5.5"))
    inputs = []
    for index in range(line_count):
        description = descriptions[index % len(descriptions)]
        if index >= len(descriptions):
            description = f"{description} (item {index + 1})"
        inputs.append(
            InvoiceLineInput(
                description=description,
                quantity=Decimal(("1", "2.5", "12", "1", "0.75", "3")[index % 6]),
                # Later rounds cost a little more, so amounts differ from line to line.
                unit_price=Money(
                    (125000, 8900, 4500, 310050, 6000, 9999)[index % 6] + index // 6 * 101,
                    currency,
                ),
                discount=PercentDiscount(Decimal(10)) if index % 4 == 1 else None,
                tax_rates=(reduced,) if index % 5 == 3 else (vat,),
            )
        )
    totals = compute_invoice(inputs, currency)
    payments = [totals.total] if paid else []
    settlement = settle(totals.total, payments, [])
    rows = tuple(
        InvoiceLineRow(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=Money(result.amount_minor - result.discount_minor, currency),
            discount=line.discount.label if isinstance(line.discount, PercentDiscount) else "",
            tax=line.tax_rates[0].label if line.tax_rates else "",
        )
        for line, result in zip(inputs, totals.lines, strict=True)
    )
    return InvoiceDocument(
        number=number,
        issue_date=date(2024, 3, 12),
        due_date=date(2024, 4, 11),
        currency=currency,
        locale=locale,
        brand=Brand(
            name="Atelier Lumière",
            primary_color="#0f766e",
            accent_color="#c2410c",
            logo=logo,
            footer_text="Atelier Lumière SARL · capital 10 000 € · RCS Lyon 812 345 678 · "
            "IBAN FR76 3000 6000 0112 3456 7890 189 · BIC AGRIFRPP",
            support_email="billing@atelier-lumiere.example",
            support_url="https://atelier-lumiere.example/support",
        ),
        agency=AgencyBlock(
            legal_name="Atelier Lumière SARL",
            address_lines=("12 rue de la Ferronnerie", "69002 Lyon", "France"),
            tax_id="FR 32 812345678",
        ),
        client=ClientBlock(
            company=GERMAN_COMPANY,
            contact_name="Jürgen Çelik",
            address_lines=("Königsallee 92", "40212 Düsseldorf", "Deutschland"),
            email="buchhaltung@donau.example",
            tax_id="DE 123 456 789",
            website="https://donau.example",
        ),
        lines=rows,
        tax_rows=tuple(TaxRow.from_summary(summary) for summary in totals.taxes),
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        tax_total=totals.tax_total,
        total=totals.total,
        amount_paid=settlement.amount_paid,
        amount_due=settlement.amount_due,
        stamp=stamp if stamp is not None else (Stamp.PAID if paid else Stamp.DUE),
        message="Thank you for your business — merci beaucoup ! Questions about this invoice? "
        "Reply to this email or call us on +33 4 72 00 00 00.",
        payment_terms="Payment due within 30 days by bank transfer or card. Late payments "
        "incur a penalty of 3× the legal interest rate and a fixed €40 recovery fee.",
        portal_url="https://pay.atelier-lumiere.example/i/8f3k2",
    )


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def squash(text: str) -> str:
    """Text without whitespace, for strings the layout may wrap."""
    return re.sub(r"\s+", "", text)


def write_png(pdf: bytes, name: str) -> None:
    if shutil.which("pdftoppm") is None:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{name}.pdf"
    target.write_bytes(pdf)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", str(target), str(ARTIFACTS / name)],
        check=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def short_pdf() -> bytes:
    pdf = render_invoice_pdf(sample_document(3, logo=png_logo()))
    write_png(pdf, "invoice-3-lines")
    return pdf


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    pdf = render_invoice_pdf(sample_document(60, paid=True, logo=SVG_LOGO))
    write_png(pdf, "invoice-60-lines")
    return pdf


def test_short_invoice_prints_its_details(short_pdf: bytes) -> None:
    pages = text_of(short_pdf)
    assert len(pages) == 1
    text = pages[0]
    assert "INV-2024-0042" in text
    assert "Mar 12, 2024" in text  # issue date, Babel 'medium' in en
    assert "Apr 11, 2024" in text  # due date
    assert squash(GERMAN_COMPANY) in squash(text)
    assert "Jürgen Çelik" in text
    assert "Atelier Lumière SARL" in text
    for char in "éçü€£¥":
        assert char in text, char
    for header in ("DESCRIPTION", "QTY", "UNIT PRICE", "DISCOUNT", "TAX", "AMOUNT"):
        assert header in text
    assert "DUE" in text and "PAID" not in text
    assert "Page 1 / 1" in text


def test_short_invoice_totals_and_taxes(short_pdf: bytes) -> None:
    doc = sample_document(3)
    text = text_of(short_pdf)[0]
    # 1 x 1,250.00 + 2.5 x 89.00 - 10% + 12 x 45.00 = 1,250.00 + 200.25 + 540.00
    assert doc.subtotal == Money(201250, "EUR")
    assert "€2,012.50" in text  # subtotal
    assert "-€22.25" in text  # discount total
    assert "VAT 20%" in text
    assert "on €1,990.25" in text  # taxable amount of the 20% rate
    assert "€398.05" in text  # tax
    assert "€2,388.30" in text  # total and amount due
    assert text.count("€2,388.30") >= 2


def test_long_invoice_spans_pages_with_repeated_table_header(long_pdf: bytes) -> None:
    pages = text_of(long_pdf)
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert "DESCRIPTION" in page and "UNIT PRICE" in page and "AMOUNT" in page, number
        assert f"Page {number} / {len(pages)}" in page
    everything = "\n".join(pages)
    assert "(item 60)" in everything
    assert "VAT 5.5%" in everything and "VAT 20%" in everything
    assert "PAID" in pages[-1]
    assert "Amount paid" in pages[-1]
    assert squash(GERMAN_COMPANY) in squash(pages[0])


def test_same_document_gives_identical_bytes() -> None:
    doc = sample_document(12, logo=png_logo())
    first = render_invoice_pdf(doc)
    second = render_invoice_pdf(doc)
    assert first == second
    assert render_invoice_pdf(replace(doc, number="INV-2024-0043")) != first


def test_output_does_not_depend_on_the_process() -> None:
    """Hash randomisation must not leak into the bytes (e.g. via set iteration order)."""
    script = (
        "import hashlib, sys\n"
        "from tests.integration.test_pdf import sample_document, png_logo\n"
        "from billing_app.adapters.pdf import render_invoice_pdf\n"
        "pdf = render_invoice_pdf(sample_document(12, logo=png_logo()))\n"
        "sys.stdout.write(hashlib.sha256(pdf).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in ("1", "2")
    }
    local = hashlib.sha256(render_invoice_pdf(sample_document(12, logo=png_logo()))).hexdigest()
    assert digests == {local}


def test_concurrent_renders_match_sequential_ones() -> None:
    """Fonts and logos are shared between renders; threads must not disturb each other."""
    docs = [
        sample_document(5, logo=png_logo()),
        sample_document(40, paid=True, logo=SVG_LOGO),
        sample_document(3, locale="fr_FR"),
        replace(sample_document(2), message="Ελληνικά και Кириллица"),
    ]
    expected = [render_invoice_pdf(doc) for doc in docs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(render_invoice_pdf, docs * 4))
    assert results == expected * 4


def embedded_fonts(pdf: bytes) -> dict[str, bytes]:
    """BaseFont name -> the embedded TrueType program, for every font of every page."""
    fonts: dict[str, bytes] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():  # type: ignore[index]
            font = ref.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts[str(font["/BaseFont"])] = descriptor["/FontFile2"].get_object().get_data()
    return fonts


def test_embedded_fonts_are_valid_subsets(short_pdf: bytes) -> None:
    from fontTools.ttLib import TTFont

    fonts = embedded_fonts(short_pdf)
    assert len(fonts) == 2  # regular and bold; no fallback face for Latin text
    source = TTFont(ROOT / "assets" / "fonts" / "DejaVuSans-Invoice.ttf")
    euro = source.getGlyphID(source.getBestCmap()[ord("€")])
    for name, program in fonts.items():
        tag, _, family = name.lstrip("/").partition("+")
        assert re.fullmatch(r"[A-Z]{6}", tag), name
        assert family.startswith("DejaVuSans"), name
        font = TTFont(io.BytesIO(program), checkChecksums=2)  # raises on a bad checksum
        glyf = font["glyf"]
        drawn = {font.getGlyphID(g) for g in font.getGlyphOrder() if glyf[g].numberOfContours}
        assert 20 < len(drawn) < 120  # the glyphs used, not the whole font
        if "Bold" not in family:
            assert euro in drawn  # glyph ids are those of the bundled font (no renumbering)
        assert len(program) < 40_000


def test_pdf_metadata_comes_from_the_document(short_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(short_pdf))
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Invoice INV-2024-0042"
    assert meta.creation_date is not None and meta.creation_date.date() == date(2024, 3, 12)
    fonts = {
        font["/BaseFont"]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    assert all(str(name).split("+")[1].startswith("DejaVuSans") for name in fonts)


def test_draft_shows_draft() -> None:
    pdf = render_invoice_pdf(sample_document(2, number=None, stamp=Stamp.DRAFT))
    write_png(pdf, "invoice-draft")
    text = text_of(pdf)[0]
    assert "DRAFT" in text
    assert "INV-" not in text
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Invoice DRAFT"  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_logos_are_drawn(kind: str) -> None:
    logo = png_logo() if kind == "png" else SVG_LOGO
    without = PdfReader(io.BytesIO(render_invoice_pdf(sample_document(1)))).pages[0]
    page = PdfReader(io.BytesIO(render_invoice_pdf(sample_document(1, logo=logo)))).pages[0]
    # With a logo, the brand name is no longer printed as the heading.
    assert without.extract_text().startswith("Atelier Lumière\n")
    assert not page.extract_text().startswith("Atelier Lumière\n")
    content = page.get_contents()
    assert content is not None
    if kind == "svg":
        # Vector paths in the SVG's own colour (#0f172a), not an image.
        assert b"0.0588 0.0902 0.1647 rg" in content.get_data()
        assert "/XObject" not in page["/Resources"]  # type: ignore[operator]
    else:
        images = page["/Resources"]["/XObject"]  # type: ignore[index]
        assert [image["/Subtype"] for image in images.values()] == ["/Image"]


def test_huge_logo_is_stored_at_print_resolution() -> None:
    pdf = render_invoice_pdf(sample_document(1, logo=png_logo(3600, 960)))
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    (image,) = page["/Resources"]["/XObject"].values()  # type: ignore[index]
    image = image.get_object()
    assert (image["/Width"], image["/Height"]) == (720, 192)  # same aspect, ~300 dpi


def test_unreadable_logo_falls_back_to_the_brand_name() -> None:
    text = text_of(render_invoice_pdf(sample_document(1, logo=b"not an image")))[0]
    assert "Atelier Lumière" in text


def test_other_scripts_use_the_fallback_font() -> None:
    doc = sample_document(1)
    greek = replace(doc, client=replace(doc.client, company="Αθήνα Ψηφιακή Α.Ε. — Москва"))
    pdf = render_invoice_pdf(greek)
    text = text_of(pdf)[0]
    assert "Αθήνα Ψηφιακή" in text and "Москва" in text
    assert len(embedded_fonts(pdf)) == 3  # the full face joins only when needed
    assert render_invoice_pdf(greek) == pdf


def test_wrapped_non_latin_descriptions_keep_every_word() -> None:
    doc = sample_document(1)
    words = "Σχεδιασμός ιστοσελίδας και συντήρηση — разработка сайта и поддержка"
    line = replace(doc.lines[0], description=f"{words} {words} {words}")
    text = text_of(render_invoice_pdf(replace(doc, lines=(line,))))[0]
    assert squash(text).count(squash(words)) == 3


def test_notes_keep_their_line_breaks_beside_accented_text() -> None:
    """A newline is in no font: each paragraph is prepared on its own, so a message with an
    accent keeps its lines instead of printing a replacement character between them."""
    doc = replace(sample_document(1), message="Merci pour votre confiance.\nÉquipe Lumière")
    lines = [line.strip() for line in text_of(render_invoice_pdf(doc))[0].splitlines()]
    assert "Merci pour votre confiance." in lines
    assert "Équipe Lumière" in lines
    assert not any("\ufffd" in line for line in lines)


def test_bank_details_are_printed_while_something_is_due() -> None:
    bank = BankDetails("Atelier Lumière", "DE89370400440532013000", "COBADEFFXXX", "")
    due = replace(sample_document(2), bank=bank)
    text = text_of(render_invoice_pdf(due))[0]
    assert "IBAN: DE89 3704 0044 0532 0130 00" in text
    assert "Reference: INV-2024-0042" in text
    settled = replace(due, amount_due=Money(0, "EUR"))
    assert "DE89" not in text_of(render_invoice_pdf(settled))[0]


def test_characters_no_font_has_are_replaced_not_dropped() -> None:
    doc = sample_document(1)
    odd = replace(doc, message="Fullwidth ￥1,000 and a CJK name 山田")
    text = text_of(render_invoice_pdf(odd))[0]
    assert "¥1,000" in text  # NFKC compatibility form
    assert "\ufffd\ufffd" in text  # no CJK font is shipped: visible replacement marks


def test_a_row_taller_than_a_page_continues_on_the_next() -> None:
    doc = sample_document(2)
    essay = " ".join(f"Clause {n} of the statement of work." for n in range(1, 400))
    long_row = replace(doc.lines[0], description=essay)
    pages = text_of(render_invoice_pdf(replace(doc, lines=(long_row, doc.lines[1]))))
    assert len(pages) >= 3
    everything = squash("".join(pages))
    assert squash("Clause 1 of the statement") in everything
    assert squash("Clause 399 of the statement of work.") in everything
    for page in pages[1:]:
        assert "DESCRIPTION" in page


def test_other_locales_and_currencies() -> None:
    text = text_of(render_invoice_pdf(sample_document(2, locale="fr_FR")))[0]
    assert "12 mars 2024" in text
    assert "€" in text and "," in text
    yen = text_of(render_invoice_pdf(sample_document(2, currency="JPY", locale="ja_JP")))[0]
    assert "￥" in yen or "¥" in yen


def test_amounts_in_another_currency_are_refused() -> None:
    doc = sample_document(1)
    with pytest.raises(ValueError, match="EUR"):
        replace(doc, total=Money(100, "USD"))


def test_bad_brand_colour_is_refused() -> None:
    with pytest.raises(ValueError, match="hex colour"):
        Brand(name="x", primary_color="teal-ish")
