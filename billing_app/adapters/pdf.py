"""Invoice PDFs: a frozen `InvoiceDocument` in, PDF bytes out (fpdf2).

A pure adapter: no database, no files except the bundled fonts; the logo arrives as bytes.
The caller (services/invoicing) fills the document from an invoice's snapshot, typically
from `InvoiceTotals` / `TaxSummary` (see `TaxRow.from_summary`).

* A4 portrait. Header with logo or brand name, title, number and dates; agency and client
  blocks; an amount-due card; the lines table (its header repeats on every page); taxes
  per rate; totals; a status stamp (PAID, PARTIALLY PAID, DUE, VOID, REFUNDED, DRAFT ...);
  notes, payment terms, portal link;
  a footer with "page n / N" on every page.
* Unicode text in an embedded TrueType font (DejaVu Sans, pre-subset; a full fallback face
  is added only when a document needs it). Long words are broken rather than overflowing.
* Deterministic: the same document gives byte-identical output (creation date = issue
  date, subset tags and file id derived from the content).
* Fast (~5 ms a page): the renderer measures, wraps and paginates itself and writes text
  straight into the content stream; fpdf2 does the PDF objects, images, links and
  transforms. Fonts are parsed once per process and subset by slicing (pdf_layout.py).
  docs/pdf.md has the design and the benchmark figures (bench/bench_pdf.py).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Final

from babel import Locale
from babel.dates import format_date
from babel.numbers import (
    format_decimal,
    format_percent,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from fpdf import FPDF
from fpdf.enums import PDFResourceType, ResourceAccessPolicy
from fpdf.errors import FPDFException
from fpdf.fonts import TTFFont
from fpdf.image_datastructures import ImageCache, RasterImageInfo
from fpdf.image_parsing import preload_image
from PIL import Image as PILImage

from billing_app.adapters.pdf_layout import (
    FastFontOutputProducer,
    FontSet,
    clean_text,
    font_set,
    iter_runs,
    pt_to_mm,
    release_fonts,
)
from billing_app.adapters.svg import check_svg
from billing_app.domain.bank import BankDetails, grouped
from billing_app.domain.colors import luminance, tint
from billing_app.domain.invoice_math import TaxSummary
from billing_app.domain.money import Money, currency_exponent, format_money
from billing_app.i18n import N_, gettext

__all__ = [
    "AgencyBlock",
    "Brand",
    "ClientBlock",
    "InvoiceDocument",
    "InvoiceLabels",
    "InvoiceLineRow",
    "Stamp",
    "TaxRow",
    "render_invoice_pdf",
    "warm_up",
]

logger = logging.getLogger(__name__)


# =========================================================================== the document


class Stamp(StrEnum):
    """The status stamp printed beside the totals."""

    PAID = "paid"
    DUE = "due"
    VOID = "void"
    DRAFT = "draft"
    PARTIALLY_PAID = "partially_paid"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    CREDITED = "credited"


def _parse_hex_color(value: str, what: str) -> tuple[int, int, int]:
    text = value.strip().removeprefix("#")
    if len(text) == 3:
        text = "".join(char * 2 for char in text)
    try:
        if len(text) != 6:
            raise ValueError
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        raise ValueError(
            f"The {what} must be a hex colour such as #1d4ed8, not {value!r}."
        ) from None


@dataclass(frozen=True, slots=True)
class Brand:
    """Who the invoice is from, visually: the brand ("hub") of the agency."""

    name: str
    primary_color: str = "#1e293b"
    accent_color: str = "#2563eb"
    logo: bytes | None = None
    """PNG, JPEG or SVG bytes (drawn at most 60 x 20 mm); None prints the brand name."""
    footer_text: str = ""
    support_email: str = ""
    support_url: str = ""

    def __post_init__(self) -> None:
        _parse_hex_color(self.primary_color, "primary colour")
        _parse_hex_color(self.accent_color, "accent colour")


@dataclass(frozen=True, slots=True)
class AgencyBlock:
    """The seller, as printed under the logo."""

    legal_name: str
    address_lines: tuple[str, ...] = ()
    tax_id: str = ""


@dataclass(frozen=True, slots=True)
class ClientBlock:
    """The buyer, from the invoice's frozen snapshot."""

    company: str
    contact_name: str = ""
    address_lines: tuple[str, ...] = ()
    email: str = ""
    tax_id: str = ""
    website: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceLineRow:
    """One row of the lines table, already computed (see invoice_math.LineResult)."""

    description: str
    quantity: Decimal | str
    """A Decimal (formatted in the document locale, trailing zeros dropped) or ready text."""
    unit_price: Money
    amount: Money
    discount: str = ""
    """Ready text such as '10%' or '-€5.00'; the column only appears if a line has one."""
    tax: str = ""
    """The tax label such as 'VAT 20%'; the column only appears if a line has one."""


@dataclass(frozen=True, slots=True)
class TaxRow:
    """One tax rate summed over the invoice."""

    name: str
    percent: Decimal
    amount: Money
    taxable_amount: Money | None = None
    """When given, printed as 'on €900.00' beside the rate."""

    @classmethod
    def from_summary(cls, summary: TaxSummary) -> TaxRow:
        return cls(summary.name, summary.percent, summary.amount, summary.taxable_amount)


@dataclass(frozen=True, slots=True)
class InvoiceLabels:
    """Every fixed word printed on the invoice. The defaults are the English source strings;
    ``for_locale`` gives them in a document's language (billing_app/i18n.py)."""

    title: str = N_("Invoice")
    number: str = N_("Invoice no.")
    draft_number: str = N_("DRAFT")
    issue_date: str = N_("Issue date")
    due_date: str = N_("Due date")
    bill_to: str = N_("Bill to")
    tax_id: str = N_("Tax ID")
    description: str = N_("Description")
    # TRANSLATORS: the quantity column of the invoice (upper-cased there).
    quantity: str = N_("Qty")
    unit_price: str = N_("Unit price")
    discount: str = N_("Discount")
    tax: str = N_("Tax")
    amount: str = N_("Amount")
    subtotal: str = N_("Subtotal")
    discount_total: str = N_("Discount")
    # TRANSLATORS: beside a tax rate in the invoice totals: the amount it is computed on.
    tax_on: str = N_("on {amount}")
    tax_total: str = N_("Total tax")
    total: str = N_("Total")
    amount_paid: str = N_("Amount paid")
    amount_refunded: str = N_("Amount refunded")
    amount_due: str = N_("Amount due")
    # TRANSLATORS: under the amount due at the top of the invoice.
    due_on: str = N_("Due {date}")
    message: str = N_("Notes")
    payment_terms: str = N_("Payment terms")
    pay_online: str = N_("Pay online")
    # TRANSLATORS: the invoice's section telling where to send a transfer.
    bank_transfer: str = N_("Pay by bank transfer")
    account_holder: str = N_("Account holder")
    # TRANSLATORS: the transfer's reference, the invoice number ("Reference: INV-0042").
    reference: str = N_("Reference")
    # TRANSLATORS: in the header of the invoice's next pages ("Invoice INV-0042 · continued").
    continued: str = N_("continued")
    page: str = N_("Page {page} / {pages}")
    stamp_paid: str = N_("PAID")
    stamp_due: str = N_("DUE")
    stamp_void: str = N_("VOID")
    stamp_draft: str = N_("DRAFT")
    stamp_partially_paid: str = N_("PARTIALLY PAID")
    stamp_refunded: str = N_("REFUNDED")
    stamp_partially_refunded: str = N_("PARTIALLY REFUNDED")
    stamp_credited: str = N_("CREDITED")
    amount_credited: str = N_("Credited")
    # TRANSLATORS: on an invoice: what the client's credit balance paid of it.
    credit_applied: str = N_("Credit applied")
    credit_note_title: str = N_("Credit note")
    credit_note_number: str = N_("Credit note no.")
    # TRANSLATORS: on a credit note, the invoice it corrects ("Credits invoice INV-0042").
    credits_invoice: str = N_("Credits invoice")
    # TRANSLATORS: on a credit note, the date of the invoice it corrects.
    invoice_date: str = N_("Invoice date")
    credit_total: str = N_("Total credited")
    # TRANSLATORS: a label before its value ("Tax ID: FR 32 812345678").
    label_colon: str = N_("{label}:")

    @classmethod
    def for_locale(cls, locale: str | None) -> InvoiceLabels:
        """Every label in ``locale`` (English where the catalog has no translation)."""
        english = cls()
        return cls(
            **{
                label.name: gettext(getattr(english, label.name), locale=locale)
                for label in fields(cls)
            }
        )

    def labelled(self, label: str) -> str:
        """``label`` followed by a colon, as the language writes it ("Tax ID:")."""
        return self.label_colon.format(label=label)

    def stamp(self, stamp: Stamp) -> str:
        return {
            Stamp.PAID: self.stamp_paid,
            Stamp.DUE: self.stamp_due,
            Stamp.VOID: self.stamp_void,
            Stamp.DRAFT: self.stamp_draft,
            Stamp.PARTIALLY_PAID: self.stamp_partially_paid,
            Stamp.REFUNDED: self.stamp_refunded,
            Stamp.PARTIALLY_REFUNDED: self.stamp_partially_refunded,
            Stamp.CREDITED: self.stamp_credited,
        }[stamp]

    def for_credit_note(self) -> InvoiceLabels:
        """The same words, titled for a credit note (its number, its total)."""
        return replace(
            self,
            title=self.credit_note_title,
            number=self.credit_note_number,
            amount_due=self.credit_total,
        )


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything printed on one invoice PDF. Build it from the invoice's frozen snapshot."""

    number: str | None
    """None for a draft: 'DRAFT' is printed instead and a watermark is added."""
    issue_date: date
    due_date: date | None
    currency: str
    locale: str
    """Babel locale for amounts and dates, e.g. 'en', 'fr_FR', 'de-DE'."""
    brand: Brand
    agency: AgencyBlock
    client: ClientBlock
    lines: tuple[InvoiceLineRow, ...]
    subtotal: Money
    total: Money
    amount_due: Money
    tax_rows: tuple[TaxRow, ...] = ()
    discount_total: Money | None = None
    tax_total: Money | None = None
    amount_paid: Money | None = None
    amount_refunded: Money | None = None
    """Money given back to the client (a row under "Amount paid" when not zero)."""
    amount_credited: Money | None = None
    """What credit notes took off the invoice (a row when not zero)."""
    credit_applied: Money | None = None
    """What the client's credit balance paid of the invoice (a row when not zero)."""
    extra_meta: tuple[tuple[str, str], ...] = ()
    """More (label, value) pairs under the number and dates (a credit note's invoice)."""
    stamp: Stamp | None = None
    message: str = ""
    payment_terms: str = ""
    portal_url: str | None = None
    bank: BankDetails = field(default_factory=BankDetails)
    """Where to pay by transfer; printed while something is due."""
    labels: InvoiceLabels | None = None
    """None: the words of ``locale`` (``InvoiceLabels.for_locale``)."""

    @property
    def words(self) -> InvoiceLabels:
        """The labels printed: ``labels``, or those of the document's locale."""
        return self.labels if self.labels is not None else InvoiceLabels.for_locale(self.locale)

    def __post_init__(self) -> None:
        amounts: list[Money | None] = [
            self.subtotal,
            self.total,
            self.amount_due,
            self.discount_total,
            self.tax_total,
            self.amount_paid,
            self.amount_refunded,
            self.amount_credited,
            self.credit_applied,
        ]
        for line in self.lines:
            amounts += [line.unit_price, line.amount]
        for row in self.tax_rows:
            amounts += [row.amount, row.taxable_amount]
        for amount in amounts:
            if amount is not None and amount.currency != self.currency:
                raise ValueError(
                    f"Every amount on a {self.currency} invoice must be in {self.currency}, "
                    f"not {amount.currency}."
                )
        _locale(self.locale)


# =========================================================================== rendering

_PAGE_W: Final = 210.0
_PAGE_H: Final = 297.0
_LEFT: Final = 18.0
_RIGHT: Final = _PAGE_W - 18.0
_WIDTH: Final = _RIGHT - _LEFT
_TOP: Final = 16.0
_FOOTER_RULE: Final = _PAGE_H - 17.0
_CONTENT_BOTTOM: Final = _FOOTER_RULE - 5.0

_CAP_HEIGHT: Final = 0.73  # DejaVu Sans cap height, in em
_BODY: Final = 9.0
_SMALL: Final = 7.5
_LABEL: Final = 6.8
_LEADING: Final = 1.38

_INK: Final = (31, 41, 55)
_MUTED: Final = (107, 114, 128)
_RULE: Final = (226, 230, 236)
_WHITE: Final = (255, 255, 255)
_SOFT_INK: Final = (75, 85, 99)
_NOTE_INK: Final = (55, 65, 81)
_FAINT: Final = (156, 163, 175)
_STAMP_COLORS: Final = {
    Stamp.PAID: (22, 163, 74),
    Stamp.DUE: (220, 38, 38),
    Stamp.VOID: (100, 116, 139),
    Stamp.DRAFT: (148, 163, 184),
    Stamp.PARTIALLY_PAID: (217, 119, 6),
    Stamp.REFUNDED: (124, 58, 237),
    Stamp.PARTIALLY_REFUNDED: (124, 58, 237),
    Stamp.CREDITED: (100, 116, 139),
}
_STAMP_SIZE: Final = 22.0  # pt; smaller for a long word so the stamp stays left of the totals
_STAMP_MAX_W: Final = 76.0
_WATERMARK_MAX_W: Final = 180.0  # mm along the diagonal of the draft watermark

_LOGO_MAX_W: Final = 60.0
_LOGO_MAX_H: Final = 20.0
_LOGO_MAX_PX: Final = (720, 240)  # the logo box at ~300 dpi

Color = tuple[int, int, int]


@functools.lru_cache(maxsize=64)
def _locale(identifier: str) -> Locale:
    try:
        return Locale.parse(identifier.replace("-", "_"))
    except (ValueError, TypeError, LookupError) as exc:
        raise ValueError(f"Unknown locale {identifier!r}.") from exc


class _MoneyFormat:
    """`format_money` for one currency and locale, without Babel's per-call overhead.

    Babel's `format_currency` costs ~13 us a call (a 10-page invoice formats ~600 amounts);
    this does the same work once and then only groups digits. It is checked against
    `format_money` on construction with amounts of every length and both signs; if any
    differs (an unusual pattern), `format_money` itself is used.
    """

    # Zero and amounts of every length from 1 to 15 digits, both signs.
    _PROBES: Final = (
        0,
        *(sign * int("987654321098765"[:n]) for n in range(1, 16) for sign in (1, -1)),
    )

    def __init__(self, currency: str, locale: str) -> None:
        self.currency = currency
        self.locale = locale
        self.exponent = currency_exponent(currency)
        self.fast = False
        try:
            babel_locale = _locale(locale)
            pattern = babel_locale.currency_formats["standard"]
            symbol = get_currency_symbol(currency, babel_locale)

            def affix(text: str) -> str:
                if "¤¤¤" in text:
                    raise ValueError("currency names are not handled")
                text = text.replace("¤¤", currency.upper()).replace("¤", symbol)
                return re.sub(r"'([^']*)'", lambda m: m.group(1) or "'", text)

            self.prefix = (affix(pattern.prefix[0]), affix(pattern.prefix[1]))
            self.suffix = (affix(pattern.suffix[0]), affix(pattern.suffix[1]))
            self.group = get_group_symbol(babel_locale)
            self.decimal = get_decimal_symbol(babel_locale)
            self.grouping = (int(pattern.grouping[0]), int(pattern.grouping[1]))
            self.int_min = int(pattern.int_prec[0])
        except (KeyError, ValueError, AttributeError, TypeError):
            return
        self.fast = all(
            self._format(probe) == format_money(Money(probe, currency), locale)
            for probe in self._PROBES
        )

    def _format(self, minor: int) -> str:
        negative = minor < 0
        digits = str(-minor if negative else minor)
        exponent = self.exponent
        if exponent:
            digits = digits.rjust(exponent + 1, "0")
            integer, fraction = digits[:-exponent], digits[-exponent:]
        else:
            integer, fraction = digits, ""
        integer = integer.rjust(self.int_min, "0")
        size, group = self.grouping
        grouped = ""
        while len(integer) > size:
            grouped = self.group + integer[-size:] + grouped
            integer = integer[:-size]
            size = group
        number = integer + grouped
        if fraction:
            number += self.decimal + fraction
        return self.prefix[negative] + number + self.suffix[negative]

    def __call__(self, amount: Money) -> str:
        if self.fast and amount.currency == self.currency:
            return self._format(amount.amount_minor)
        return format_money(amount, self.locale)


@functools.lru_cache(maxsize=64)
def _money_format(currency: str, locale: str) -> _MoneyFormat:
    return _MoneyFormat(currency, locale)


def _readable_on(color: Color) -> Color:
    """White or ink, whichever reads better on `color`."""
    return _WHITE if luminance(color) < 0.45 else _INK


def _legible_on_white(color: Color) -> Color:
    """`color`, darkened until its contrast with white is at least 4.5:1 (WCAG AA)."""
    r, g, b = color
    for _ in range(20):
        if 1.05 / (luminance((r, g, b)) + 0.05) >= 4.5:
            break
        r, g, b = round(r * 0.9), round(g * 0.9), round(b * 0.9)
    return (r, g, b)


# --------------------------------------------------------------------------- logo


@dataclass(frozen=True, slots=True)
class _Logo:
    data: bytes
    aspect: float  # width / height
    raster_name: str | None = None
    raster_info: RasterImageInfo | None = None


def _sniff_svg(data: bytes) -> bytes | None:
    """SVG bytes in the form fpdf2 recognises, or None if `data` is not SVG."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"<?xml ", b"<svg ")):
        return stripped
    if b"<svg" in stripped[:4096] and stripped.startswith(b"<"):
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + stripped
    return None


def _logo_dims(data: bytes) -> tuple[float, float] | None:
    """Pixel size to store a raster logo at: at most ~300 dpi in its 60 x 20 mm box, so a
    4000-pixel upload does not make every invoice weigh megabytes. None keeps the size."""
    with PILImage.open(io.BytesIO(data)) as image:  # reads the header only
        width, height = image.size
    scale = min(_LOGO_MAX_PX[0] / width, _LOGO_MAX_PX[1] / height)
    if scale >= 1:
        return None
    return max(1, round(width * scale)), max(1, round(height * scale))


@functools.lru_cache(maxsize=32)
def _prepare_logo(data: bytes) -> _Logo | None:
    """Parse a logo once per process (keyed by its bytes). None if it cannot be read, or if
    it is an SVG that uploads now refuse, e.g. too complex to draw (docs/security.md item 41):
    the invoice then shows the brand name, and the warning is logged once per process."""
    cache = ImageCache()
    svg = _sniff_svg(data)
    try:
        if svg is not None:
            check_svg(svg)
            _, image, info = preload_image(
                cache, svg, resource_access_policy=ResourceAccessPolicy.NONE
            )
            width = getattr(image, "width", None)
            height = getattr(image, "height", None)
            viewbox = getattr(image, "viewbox", None)
            if viewbox:
                width, height = viewbox[2], viewbox[3]
            if not width or not height:
                raise ValueError("SVG logo without viewBox or size")
            return _Logo(svg, float(width) / float(height))
        name, _, info = preload_image(
            cache,
            data,
            _logo_dims(data),
            resource_access_policy=ResourceAccessPolicy.NONE,
        )
    except (OSError, ValueError, SyntaxError, FPDFException, KeyError, TypeError) as exc:
        logger.warning("Ignoring a logo that cannot be read: %s", exc)
        return None
    assert isinstance(info, RasterImageInfo)
    width, height = float(info["w"]), float(info["h"])  # type: ignore[arg-type]
    if width <= 0 or height <= 0:
        return None
    return _Logo(data, width / height, name, info)


# --------------------------------------------------------------------------- canvas


class _Canvas:
    """fpdf2 plus text measuring/wrapping with our fonts, positions in mm from the top left.

    Text goes through `prepare` first: characters the pre-subset faces lack make the full
    fallback face join the document (only then); characters no face has are replaced by
    their compatibility form when that is printable (fullwidth '￥' -> '¥'), else by U+FFFD.
    """

    def __init__(self, fonts: FontSet, doc: InvoiceDocument) -> None:
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        pdf.resource_access_policy = ResourceAccessPolicy.NONE
        pdf.render_color_fonts = False
        pdf.set_creation_date(datetime.combine(doc.issue_date, time(0), tzinfo=UTC))
        labels = doc.words
        title = f"{labels.title} {doc.number or labels.draft_number}"
        pdf.set_title(clean_text(title))
        pdf.set_author(clean_text(doc.agency.legal_name or doc.brand.name))
        pdf.set_subject(clean_text(f"{title} - {doc.client.company}"))
        pdf.set_creator(clean_text(doc.brand.name))
        pdf.set_lang(doc.locale.replace("_", "-"))
        self._pdf = pdf
        self._ops: list[str] = []
        self._fill: str | None = None
        self._stroke: tuple[Color, float] | None = None
        self._tf: tuple[int, float] | None = None
        self._page = 0
        self.fonts = fonts
        self._regular = fonts.regular.for_document(pdf, "sans")
        pdf.fonts["sans"] = self._regular
        self._bold = fonts.bold.for_document(pdf, "sansB")
        pdf.fonts["sansB"] = self._bold
        self._encoders: dict[int, tuple[set[str], dict[int, str]]] = {
            self._regular.i: (set(), {}),
            self._bold.i: (set(), {}),
        }
        self._fonts_on_pages: set[tuple[int, int]] = set()
        self._char_widths = (
            {chr(code): width for code, width in fonts.regular.widths.items()},
            {chr(code): width for code, width in fonts.bold.widths.items()},
        )
        self.with_fallback = False
        self._widths = (fonts.regular.widths, fonts.bold.widths)
        self._missing = (fonts.regular.missing_width, fonts.bold.missing_width)
        self._primary = fonts.regular.codepoints
        self._primary_chars = frozenset(map(chr, fonts.regular.codepoints))
        self._fallback_widths: dict[int, float] = {}
        self._prepared: dict[str, str] = {}
        self._mixed: set[str] = set()  # prepared strings that need the fallback face

    def prepare(self, text: str) -> str:
        if text.isascii():
            return text
        prepared = self._prepared.get(text)
        if prepared is not None:
            return prepared
        primary = self._primary
        prepared = text
        if not self._primary_chars.issuperset(text):
            fallback = self.fonts.fallback.codepoints
            out: list[str] = []
            mixed = False
            for char in text:
                code = ord(char)
                if code in primary:
                    out.append(char)
                elif code in fallback:
                    out.append(char)
                    mixed = True
                else:
                    compatible = unicodedata.normalize("NFKC", char)
                    if compatible != char and all(ord(c) in primary for c in compatible):
                        out.append(compatible)
                    else:
                        out.append("\ufffd")
            prepared = "".join(out)
            if mixed:
                self._use_fallback()
                self._mixed.add(prepared)
        self._prepared[text] = prepared
        self._prepared[prepared] = prepared
        return prepared

    def _use_fallback(self) -> None:
        if not self.with_fallback:
            self.with_fallback = True
            fallback = self.fonts.fallback.for_document(self._pdf, "fallback")
            self._pdf.fonts["fallback"] = fallback
            self._encoders[fallback.i] = (set(), {})
            self._fallback_widths = self.fonts.fallback.widths

    # -- measuring

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width of `text` in mm, as it will be drawn."""
        if not text.isascii():
            text = self.prepare(text)
        try:
            units = sum(map(self._char_widths[bold].__getitem__, text))
        except KeyError:  # fallback-face characters
            widths = self._widths[bold]
            fallback = self._fallback_widths
            missing = self._missing[bold]
            units = sum(
                [widths[c] if c in widths else fallback.get(c, missing) for c in map(ord, text)]
            )
        return units * size * _EM_TO_MM

    def wrap(self, text: str, width: float, size: float, bold: bool = False) -> list[str]:
        """Greedy word wrap to `width` mm; words longer than a line are broken."""
        width += _EPSILON
        lines: list[str] = []
        # Split first: a newline is in no font, so preparing the whole text would print it as
        # a replacement character whenever the text holds a character outside ASCII.
        for raw in text.split("\n"):
            paragraph = self.prepare(raw.strip())
            if self.width(paragraph, size, bold) <= width:
                lines.append(paragraph)
                continue
            space = self.width(" ", size, bold)
            current = ""
            current_width = 0.0
            for word in paragraph.split():
                word_width = self.width(word, size, bold)
                if current and current_width + space + word_width <= width:
                    current += " " + word
                    current_width += space + word_width
                    continue
                if current:
                    lines.append(current)
                if word_width <= width:
                    current, current_width = word, word_width
                    continue
                pieces = self._break_word(word, width, size, bold)
                lines.extend(pieces[:-1])
                current = pieces[-1]
                current_width = self.width(current, size, bold)
            lines.append(current)
        if text in self._mixed:
            for line in lines:  # so each line is known to need the fallback face
                self.prepare(line)
        return lines

    def _break_word(self, word: str, width: float, size: float, bold: bool) -> list[str]:
        pieces: list[str] = []
        start = 0
        used = 0.0
        for index, char in enumerate(word):
            char_width = self.width(char, size, bold)
            if used + char_width > width and index > start:
                pieces.append(word[start:index])
                start, used = index, 0.0
            used += char_width
        pieces.append(word[start:])
        return pieces

    # -- drawing
    #
    # Text, fills and rules are written straight into the page's content stream (fpdf2's
    # text() costs ~9 us a call; a 10-page invoice draws ~2,000 strings). Operations are
    # buffered and flushed as one `q ... Q` group, so colours and fonts are only re-sent
    # when they change and fpdf2's own idea of the graphics state stays true. Images,
    # links, rotation and transparency go through fpdf2: `self.pdf` flushes first, and
    # `transformed()` flushes before leaving its block.

    @property
    def pdf(self) -> FPDF:
        self.flush()
        return self._pdf

    def flush(self) -> None:
        if self._ops:
            self._pdf._out("q\n" + "\n".join(self._ops) + "\nQ")
            self._ops.clear()
        self._fill = self._stroke = self._tf = None

    @contextlib.contextmanager
    def transformed(
        self, angle: float, x: float, y: float, opacity: float | None = None
    ) -> Iterator[FPDF]:
        """Draw rotated by `angle` degrees around (x, y), optionally translucent."""
        pdf = self.pdf
        with contextlib.ExitStack() as stack:
            stack.enter_context(pdf.rotation(angle, x, y))
            if opacity is not None:
                stack.enter_context(pdf.local_context(fill_opacity=opacity, stroke_opacity=opacity))
            yield pdf
            self.flush()

    def _set_fill(self, color: Color) -> None:
        operator = _FILL_OPERATORS.get(color) or _fill_operator(color)
        if operator != self._fill:
            self._ops.append(operator)
            self._fill = operator

    def _encode(self, font: TTFFont, text: str) -> str:
        """The PDF string operand for `text` in `font` (2-byte codes, escaped)."""
        known, table = self._encoders[font.i]
        if not known.issuperset(text):
            # In text order (never set order, which varies between processes): codes are
            # allocated on first use, and the output must be byte-identical every time.
            for char in text:
                if char not in known:
                    code = font.subset.pick(ord(char))
                    table[ord(char)] = "" if code is None else _escape_code(code)
                    known.add(char)
        return text.translate(table)

    def _show(self, font: TTFFont, size: float, x: float, y: float, text: str) -> None:
        tf = (font.i, size)
        if tf != self._tf:
            if (font.i, self._page) not in self._fonts_on_pages:
                self._fonts_on_pages.add((font.i, self._page))
                self._pdf._resource_catalog.add(PDFResourceType.FONT, font.i, self._page)
            self._ops.append(f"BT /F{font.i} {size:.2f} Tf {x:.2f} {y:.2f} Td")
            self._tf = tf
        else:
            self._ops.append(f"BT {x:.2f} {y:.2f} Td")
        self._ops.append(f"({self._encode(font, text)}) Tj ET")

    def new_page(self) -> None:
        self.flush()
        self._pdf.add_page()
        self._page = self._pdf.page

    def text(
        self,
        x: float,
        baseline: float,
        text: str,
        size: float = _BODY,
        bold: bool = False,
        color: Color = _INK,
        align: str = "L",
    ) -> None:
        """Draw one line of text; `x` is its left edge, right edge ('R') or centre ('C')."""
        if not text:
            return
        if not text.isascii():
            text = self.prepare(text)
        if align == "R":
            x -= self.width(text, size, bold)
        elif align == "C":
            x -= self.width(text, size, bold) / 2
        fill = _FILL_OPERATORS.get(color) or _fill_operator(color)
        if fill != self._fill:
            self._ops.append(fill)
            self._fill = fill
        y = (_PAGE_H - baseline) * _K
        primary: TTFFont = self._bold if bold else self._regular
        if text not in self._mixed:
            self._show(primary, size, x * _K, y, text)
            return
        fallback = self._pdf.fonts["fallback"]
        assert isinstance(fallback, TTFFont)
        for in_primary, run in iter_runs(text, self._primary):
            self._show(primary if in_primary else fallback, size, x * _K, y, run)
            x += self.width(run, size, bold and in_primary)

    def draw_items(
        self,
        items: Sequence[tuple[float, int, str, bool, Color]],
        lines: tuple[int, int],
        first_baseline: float,
        step: float,
        size: float = _BODY,
    ) -> None:
        """Draw prepared (x, line, text, bold, colour) items of a table row: `text()`
        without its per-call checks, for the ~2,000 cells of a long invoice."""
        start, stop = lines
        ops = self._ops
        append = ops.append
        top_pt = (_PAGE_H - first_baseline) * _K + start * step * _K
        step_pt = step * _K
        mixed = self._mixed
        page = self._page
        fonts_on_page = self._fonts_on_pages
        for x, line, text, bold, color in items:
            if not start <= line < stop or not text:
                continue
            if text in mixed:
                self.text(x, first_baseline + (line - start) * step, text, size, bold, color)
                continue
            fill = _FILL_OPERATORS.get(color) or _fill_operator(color)
            if fill != self._fill:
                append(fill)
                self._fill = fill
            font = self._bold if bold else self._regular
            y_pt = top_pt - line * step_pt
            known, table = self._encoders[font.i]
            if not known.issuperset(text) or (font.i, page) not in fonts_on_page:
                self._show(font, size, x * _K, y_pt, text)
                continue
            encoded = text.translate(table)
            if (font.i, size) != self._tf:
                self._tf = (font.i, size)
                append(f"BT /F{font.i} {size:.2f} Tf {x * _K:.2f} {y_pt:.2f} Td ({encoded}) Tj ET")
            else:
                append(f"BT {x * _K:.2f} {y_pt:.2f} Td ({encoded}) Tj ET")

    def lines(
        self,
        x: float,
        top: float,
        lines: Iterable[str],
        size: float = _BODY,
        bold: bool = False,
        color: Color = _INK,
        align: str = "L",
    ) -> float:
        """Draw lines from `top` (the top of the first line box); returns the bottom."""
        step = line_height(size)
        for line in lines:
            self.text(x, baseline(top, size), line, size, bold, color, align)
            top += step
        return top

    def fill(self, x: float, y: float, w: float, h: float, color: Color) -> None:
        self._set_fill(color)
        self._ops.append(
            f"{x * _K:.2f} {(_PAGE_H - y - h) * _K:.2f} {w * _K:.2f} {h * _K:.2f} re f"
        )

    def rule(self, x1: float, y: float, x2: float, color: Color, width: float = 0.2) -> None:
        stroke = (color, width)
        if stroke != self._stroke:
            operator = (_FILL_OPERATORS.get(color) or _fill_operator(color)).upper()
            self._ops.append(f"{operator} {width * _K:.2f} w 0 J")
            self._stroke = stroke
        y_pt = (_PAGE_H - y) * _K
        self._ops.append(f"{x1 * _K:.2f} {y_pt:.2f} m {x2 * _K:.2f} {y_pt:.2f} l S")


_K: Final = 72 / 25.4  # points per mm


_EM_TO_MM: Final = 0.001 / _K
_FILL_OPERATORS: dict[Color, str] = {}


def _fill_operator(color: Color) -> str:
    r, g, b = color
    operator = f"{r / 255:.3f} {g / 255:.3f} {b / 255:.3f} rg"
    if len(_FILL_OPERATORS) < 1024:
        _FILL_OPERATORS[color] = operator
    return operator


def _escape_code(code: int) -> str:
    raw = chr(code >> 8) + chr(code & 0xFF)
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace("\r", "\\r")


def line_height(size: float) -> float:
    return pt_to_mm(size) * _LEADING


def baseline(top: float, size: float) -> float:
    """Baseline that centres capital letters in a line box starting at `top`."""
    return top + (line_height(size) + pt_to_mm(size) * _CAP_HEIGHT) / 2


# --------------------------------------------------------------------------- layout


@dataclass(slots=True)
class _Column:
    header: str
    width: float
    align: str  # "L" or "R"


@dataclass(slots=True)
class _Row:
    """A laid-out table row: every piece of text with its x position and line index."""

    items: list[tuple[float, int, str, bool, Color]]  # (x, line, text, bold, colour)
    line_count: int
    height: float


@dataclass(frozen=True, slots=True)
class _TableHeader:
    height: float = 7.5


@dataclass(frozen=True, slots=True)
class _RowPart:
    """A table row, or some of its lines when the row is taller than a page."""

    row: _Row
    lines: tuple[int, int]  # [start, stop) line numbers of the row
    height: float


@dataclass(frozen=True, slots=True)
class _Totals:
    rows: tuple[tuple[str, str, str], ...]  # (label, note, amount) above the Total line
    height: float


@dataclass(frozen=True, slots=True)
class _NoteLine:
    """One line of the notes; the first line of a section carries the section label."""

    text: str
    height: float
    label: str | None = None
    label_gap: float = 0.0
    url: str | None = None


_Block = _TableHeader | _RowPart | _Totals | _NoteLine
Page = list[tuple[_Block, float]]

_CELL_PAD_X: Final = 2.2
_ROW_PAD_Y: Final = 1.7
_TABLE_HEADER_H: Final = _TableHeader().height
_KEEP_LINES: Final = 8  # rows up to this many lines are never split across pages
_EPSILON: Final = 1e-6  # mm; absorbs float error in "does it fit" tests
_NEXT_PAGE_TOP: Final = _TOP + 12.0  # where content starts below draw_next_header()
_NOTES_WIDTH: Final = _WIDTH * 0.72
_TOTALS_WIDTH: Final = 84.0
_TOTALS_STEP: Final = line_height(_BODY) + 1.3


class _Renderer:
    def __init__(self, doc: InvoiceDocument) -> None:
        self.doc = doc
        self.labels = doc.words
        self.primary: Color = _parse_hex_color(doc.brand.primary_color, "primary colour")
        self.accent: Color = _parse_hex_color(doc.brand.accent_color, "accent colour")
        self.on_primary = _readable_on(self.primary)
        # Brand colours used for text on white are darkened until they read (WCAG AA).
        self.primary_text = _legible_on_white(self.primary)
        self.accent_text = _legible_on_white(self.accent)
        self.canvas = _Canvas(font_set(), doc)
        self._money = _money_format(doc.currency, doc.locale)
        self._quantities: dict[Decimal | str, str] = {}
        self._next_header: tuple[str, str] | None = None
        self._footer: list[str] | None = None
        self.logo = _prepare_logo(doc.brand.logo) if doc.brand.logo else None

    # -- formatting

    def money(self, amount: Money) -> str:
        return self._money(amount)

    def date(self, value: date) -> str:
        return format_date(value, "medium", locale=_locale(self.doc.locale))

    def quantity(self, value: Decimal | str) -> str:
        text = self._quantities.get(value)
        if text is not None:
            return text
        if isinstance(value, str):
            text = clean_text(value)
        else:
            normalized = value.normalize()
            if normalized == normalized.to_integral_value():
                normalized = normalized.quantize(Decimal(1))
            text = format_decimal(
                normalized, locale=_locale(self.doc.locale), decimal_quantization=False
            )
        self._quantities[value] = text
        return text

    def tax_label(self, row: TaxRow) -> str:
        percent = format_percent(
            row.percent / 100, locale=_locale(self.doc.locale), decimal_quantization=False
        )
        return f"{clean_text(row.name)} {percent}"

    # -- page furniture

    def draw_first_header(self) -> float:
        """Logo, agency, title and meta, client and amount-due card. Returns the bottom."""
        canvas, doc, labels = self.canvas, self.doc, self.labels
        canvas.fill(0, 0, _PAGE_W, 3.0, self.primary)
        if doc.number is None:
            self.draw_watermark()

        # Left: logo (or brand name), then the agency.
        y = _TOP
        if self.logo is not None:
            w = min(_LOGO_MAX_W, _LOGO_MAX_H * self.logo.aspect)
            h = w / self.logo.aspect
            self.draw_logo(_LEFT, y, w, h)
            y += h + 3.5
        else:
            name_lines = canvas.wrap(clean_text(doc.brand.name), 100, 16, bold=True)
            y = canvas.lines(_LEFT, y - 1, name_lines[:2], 16, True, self.primary_text) + 2.5
        agency = doc.agency
        agency_lines = canvas.wrap(clean_text(agency.legal_name), 95, _BODY, bold=True)
        y = canvas.lines(_LEFT, y, agency_lines, _BODY, True)
        details = [clean_text(line) for line in agency.address_lines]
        if agency.tax_id:
            details.append(f"{labels.labelled(labels.tax_id)} {clean_text(agency.tax_id)}")
        wrapped: list[str] = []
        for detail in details:
            wrapped += canvas.wrap(detail, 95, _SMALL + 0.5)
        left_bottom = canvas.lines(_LEFT, y, wrapped, _SMALL + 0.5, color=_MUTED)

        # Right: title and meta.
        title = clean_text(labels.title).upper()
        canvas.text(_RIGHT, _TOP + 7.0, title, 20, True, self.primary_text, "R")
        number = clean_text(doc.number) if doc.number else clean_text(labels.draft_number)
        meta = [(labels.number, number)]
        meta.append((labels.issue_date, self.date(doc.issue_date)))
        if doc.due_date is not None:
            meta.append((labels.due_date, self.date(doc.due_date)))
        meta += [(label, clean_text(value)) for label, value in doc.extra_meta]
        value_width = max(canvas.width(value, _BODY, True) for _, value in meta)
        label_right = _RIGHT - value_width - 5
        y = _TOP + 12.5
        step = line_height(_BODY) + 0.6
        for label, value in meta:
            canvas.text(
                label_right,
                baseline(y, _BODY),
                clean_text(label),
                _SMALL + 0.5,
                color=_MUTED,
                align="R",
            )
            canvas.text(_RIGHT, baseline(y, _BODY), value, _BODY, True, align="R")
            y += step
        top = max(left_bottom, y) + 7.0

        # Bill to (left) and the amount-due card (right).
        card_w = 62.0
        bill_w = _WIDTH - card_w - 10
        canvas.text(
            _LEFT,
            baseline(top, _LABEL),
            clean_text(labels.bill_to).upper(),
            _LABEL,
            True,
            self.accent_text,
        )
        y = top + line_height(_LABEL) + 0.8
        client = doc.client
        y = canvas.lines(
            _LEFT, y, canvas.wrap(clean_text(client.company), bill_w, 10.5, True), 10.5, True
        )
        client_lines: list[str] = []
        for text in (client.contact_name, *client.address_lines, client.email, client.website):
            if text:
                client_lines += canvas.wrap(clean_text(text), bill_w, _BODY)
        if client.tax_id:
            client_lines += canvas.wrap(
                f"{labels.labelled(labels.tax_id)} {clean_text(client.tax_id)}", bill_w, _BODY
            )
        bill_bottom = canvas.lines(_LEFT, y + 0.3, client_lines, _BODY, color=(75, 85, 99))

        card_x = _RIGHT - card_w
        card_h = 24.0
        canvas.fill(card_x, top, card_w, card_h, tint(self.primary, 0.07))
        canvas.fill(card_x, top, 1.2, card_h, self.accent)
        inner = card_x + 5.5
        canvas.text(
            inner,
            baseline(top + 3.2, _LABEL),
            clean_text(labels.amount_due).upper(),
            _LABEL,
            True,
            _MUTED,
        )
        due_text = self.money(doc.amount_due)
        size = 17.0
        while size > 10 and canvas.width(due_text, size, True) > card_w - 9:
            size -= 1
        canvas.text(inner, top + 14.2, due_text, size, True, self.primary_text)
        if doc.due_date is not None:
            canvas.text(
                inner,
                top + 19.8,
                clean_text(labels.due_on).format(date=self.date(doc.due_date)),
                _SMALL + 0.5,
                color=_MUTED,
            )
        return max(bill_bottom, top + card_h) + 9.0

    def draw_next_header(self) -> float:
        canvas, doc, labels = self.canvas, self.doc, self.labels
        canvas.fill(0, 0, _PAGE_W, 3.0, self.primary)
        if doc.number is None:
            self.draw_watermark()
        if self._next_header is None:
            name = canvas.wrap(clean_text(doc.brand.name), 100, 10.5, True)[0]
            number = clean_text(doc.number) if doc.number else clean_text(labels.draft_number)
            right = f"{clean_text(labels.title)} {number} · {clean_text(labels.continued)}"
            self._next_header = (name, right)
        name, right = self._next_header
        canvas.text(_LEFT, _TOP + 3.5, name, 10.5, True, self.primary_text)
        canvas.text(_RIGHT, _TOP + 3.5, right, _SMALL + 0.5, color=_MUTED, align="R")
        canvas.rule(_LEFT, _TOP + 7.0, _RIGHT, _RULE)
        return _NEXT_PAGE_TOP

    def footer_lines(self, pages: int) -> list[str]:
        """The footer text and contacts, wrapped beside the widest "Page n / N"."""
        if self._footer is None:
            canvas, brand = self.canvas, self.doc.brand
            widest = clean_text(self.labels.page).format(page=pages, pages=pages)
            width = _WIDTH - canvas.width(widest, _SMALL) - 8
            lines: list[str] = []
            if brand.footer_text:
                lines += canvas.wrap(clean_text(brand.footer_text), width, _SMALL)[:2]
            contact = "  ·  ".join(
                clean_text(text) for text in (brand.support_email, brand.support_url) if text
            )
            if contact:
                lines += canvas.wrap(contact, width, _SMALL)[:1]
            self._footer = lines
        return self._footer

    def draw_footer(self, page: int, pages: int) -> None:
        canvas = self.canvas
        canvas.rule(_LEFT, _FOOTER_RULE, _RIGHT, _RULE)
        top = _FOOTER_RULE + 2.2
        canvas.lines(_LEFT, top, self.footer_lines(pages), _SMALL, color=_MUTED)
        page_text = clean_text(self.labels.page).format(page=page, pages=pages)
        canvas.text(_RIGHT, baseline(top, _SMALL), page_text, _SMALL, color=_MUTED, align="R")

    def draw_watermark(self) -> None:
        canvas = self.canvas
        text = clean_text(self.labels.stamp_draft)
        # A longer word (another language's) is made smaller to stay on the page.
        size = min(110.0, 110.0 * _WATERMARK_MAX_W / max(canvas.width(text, 110, True), 1.0))
        with canvas.transformed(35, _PAGE_W / 2, _PAGE_H / 2):
            canvas.text(_PAGE_W / 2, _PAGE_H / 2 + 12, text, size, True, (241, 243, 246), "C")

    def draw_logo(self, x: float, y: float, w: float, h: float) -> None:
        logo = self.logo
        assert logo is not None
        pdf = self.canvas.pdf
        if logo.raster_name is not None and logo.raster_info is not None:
            # Reuse the parsed image: fpdf2 finds it in its cache by the bytes' md5 name.
            info = copy.copy(logo.raster_info)
            info["i"] = len(pdf.image_cache.images) + 1
            info["usages"] = 0
            pdf.image_cache.images[logo.raster_name] = info
        pdf.image(logo.data, x=x, y=y, w=w, h=h)

    # -- table

    def columns(self) -> list[_Column]:
        canvas, labels, doc = self.canvas, self.labels, self.doc
        spec: list[tuple[str, list[str]]] = [
            (labels.quantity, [self.quantity(line.quantity) for line in doc.lines]),
            (labels.unit_price, [self.money(line.unit_price) for line in doc.lines]),
        ]
        if any(line.discount for line in doc.lines):
            spec.append((labels.discount, [clean_text(line.discount) for line in doc.lines]))
        if any(line.tax for line in doc.lines):
            spec.append((labels.tax, [clean_text(line.tax) for line in doc.lines]))
        spec.append((labels.amount, [self.money(line.amount) for line in doc.lines]))
        self._cell_texts = [[canvas.prepare(value) for value in values] for _, values in spec]
        columns: list[_Column] = []
        last = len(spec) - 1
        self._cell_widths: list[dict[str, float]] = []
        for index, ((header, _), values) in enumerate(zip(spec, self._cell_texts, strict=True)):
            bold = index == last
            widths = {value: canvas.width(value, _BODY, bold) for value in dict.fromkeys(values)}
            self._cell_widths.append(widths)
            header_width = canvas.width(canvas.prepare(clean_text(header).upper()), _LABEL, True)
            widest = max([header_width, *widths.values()])
            columns.append(_Column(clean_text(header), min(widest, 40.0) + 2 * _CELL_PAD_X, "R"))
        description_w = max(_WIDTH - sum(c.width for c in columns), 55.0)
        if description_w + sum(c.width for c in columns) > _WIDTH:
            scale = (_WIDTH - description_w) / sum(c.width for c in columns)
            for column in columns:
                column.width *= scale
        columns.insert(0, _Column(clean_text(labels.description), description_w, "L"))
        return columns

    def rows(self, columns: list[_Column]) -> list[_Row]:
        """Wrap and position every cell once; drawing then only emits text."""
        canvas = self.canvas
        step = line_height(_BODY)
        last = len(columns) - 1
        lefts: list[float] = []
        x = _LEFT
        for column in columns:
            lefts.append(x)
            x += column.width
        inner = [column.width - 2 * _CELL_PAD_X for column in columns]
        description_x = lefts[0] + _CELL_PAD_X
        rows: list[_Row] = []
        for index, line in enumerate(self.doc.lines):
            description = canvas.wrap(clean_text(line.description), inner[0], _BODY)
            items = [
                (description_x, number, text, False, _INK)
                for number, text in enumerate(description)
            ]
            line_count = len(description)
            for column_index, values in enumerate(self._cell_texts, start=1):
                bold = column_index == last
                color = _INK if bold else _SOFT_INK
                right = lefts[column_index] + columns[column_index].width - _CELL_PAD_X
                value = values[index]
                width = self._cell_widths[column_index - 1][value]
                if width <= inner[column_index] + _EPSILON:
                    items.append((right - width, 0, value, bold, color))
                    continue
                wrapped = canvas.wrap(value, inner[column_index], _BODY, bold)
                for number, text in enumerate(wrapped):
                    x = right - canvas.width(text, _BODY, bold)
                    items.append((x, number, text, bold, color))
                line_count = max(line_count, len(wrapped))
            rows.append(_Row(items, line_count, line_count * step + 2 * _ROW_PAD_Y))
        return rows

    def draw_table_header(self, columns: list[_Column], top: float) -> None:
        canvas = self.canvas
        canvas.fill(_LEFT, top, _WIDTH, _TABLE_HEADER_H, self.primary)
        x = _LEFT
        base = top + (_TABLE_HEADER_H + pt_to_mm(_LABEL) * _CAP_HEIGHT) / 2
        for column in columns:
            label = column.header.upper()
            if column.align == "R":
                canvas.text(
                    x + column.width - _CELL_PAD_X, base, label, _LABEL, True, self.on_primary, "R"
                )
            else:
                canvas.text(x + _CELL_PAD_X, base, label, _LABEL, True, self.on_primary)
            x += column.width

    def draw_row(self, part: _RowPart, top: float) -> None:
        canvas = self.canvas
        canvas.draw_items(
            part.row.items, part.lines, baseline(top + _ROW_PAD_Y, _BODY), line_height(_BODY)
        )
        canvas.rule(_LEFT, top + part.height, _RIGHT, _RULE)

    # -- totals, stamp, notes

    def totals(self) -> _Totals:
        doc, labels = self.doc, self.labels
        rows = [(clean_text(labels.subtotal), "", self.money(doc.subtotal))]
        if doc.discount_total is not None and not doc.discount_total.is_zero:
            discount = self.money(-abs(doc.discount_total))
            rows.append((clean_text(labels.discount_total), "", discount))
        for tax in doc.tax_rows:
            note = ""
            if tax.taxable_amount is not None:
                note = clean_text(labels.tax_on).format(amount=self.money(tax.taxable_amount))
            rows.append((self.tax_label(tax), note, self.money(tax.amount)))
        if doc.tax_total is not None and len(doc.tax_rows) > 1:
            rows.append((clean_text(labels.tax_total), "", self.money(doc.tax_total)))
        extra = _TOTALS_STEP * len(self.settled_rows())
        height = 3.0 + len(rows) * _TOTALS_STEP + 10.5 + extra + 10.5
        return _Totals(tuple(rows), height)

    def settled_rows(self) -> list[tuple[str, str]]:
        """The rows between the total and the amount due: paid, refunded, credited and
        paid from the credit balance (those that are not zero)."""
        doc, labels = self.doc, self.labels
        rows = []
        for label, amount, sign in (
            (labels.amount_paid, doc.amount_paid, -1),
            (labels.amount_refunded, doc.amount_refunded, 1),
            (labels.amount_credited, doc.amount_credited, -1),
            (labels.credit_applied, doc.credit_applied, -1),
        ):
            if amount is not None and not amount.is_zero:
                rows.append((clean_text(label), self.money(amount if sign > 0 else -amount)))
        return rows

    def draw_totals(self, totals: _Totals, top: float) -> None:
        canvas, doc, labels = self.canvas, self.doc, self.labels
        x = _RIGHT - _TOTALS_WIDTH
        y = top + 3.0
        for label, note, amount in totals.rows:
            canvas.text(x + 3, baseline(y, _BODY), label, _BODY, color=_MUTED)
            if note:
                note_x = x + 3 + canvas.width(canvas.prepare(label), _BODY) + 1.8
                canvas.text(note_x, baseline(y, _BODY), note, _SMALL, color=_FAINT)
            canvas.text(_RIGHT - 3, baseline(y, _BODY), amount, _BODY, align="R")
            y += _TOTALS_STEP
        y += 1.0
        canvas.rule(x, y, _RIGHT, self.primary, 0.4)
        y += 1.5
        canvas.text(x + 3, baseline(y, 11), clean_text(labels.total), 11, True)
        canvas.text(_RIGHT - 3, baseline(y, 11), self.money(doc.total), 11, True, align="R")
        y += 8.0
        for label, amount in self.settled_rows():
            canvas.text(x + 3, baseline(y - 1.2, _BODY), label, _BODY, color=_MUTED)
            canvas.text(_RIGHT - 3, baseline(y - 1.2, _BODY), amount, _BODY, align="R")
            y += _TOTALS_STEP
        canvas.fill(x, y, _TOTALS_WIDTH, 9.0, tint(self.accent, 0.1))
        canvas.fill(x, y, 1.0, 9.0, self.accent)
        due = self.money(doc.amount_due)
        canvas.text(
            x + 3, baseline(y + 1.4, 10), clean_text(labels.amount_due), 10, True, self.accent_text
        )
        canvas.text(_RIGHT - 3, baseline(y + 1.4, 10), due, 10, True, self.accent_text, "R")
        if doc.stamp is not None:
            self.draw_stamp(doc.stamp, top + min(totals.height, 40.0) / 2 + 2)

    def draw_stamp(self, stamp: Stamp, centre_y: float) -> None:
        """A rubber-stamp look: double rounded frame, rotated, left of the totals."""
        canvas = self.canvas
        text = canvas.prepare(clean_text(self.labels.stamp(stamp)))
        color = _STAMP_COLORS[stamp]
        size = _STAMP_SIZE
        text_w = canvas.width(text, size, True)
        if text_w + 12 > _STAMP_MAX_W:
            size = _STAMP_SIZE * (_STAMP_MAX_W - 12) / text_w
            text_w = canvas.width(text, size, True)
        w = text_w + 12
        h = 14.0
        cx = _LEFT + 40.0
        cy = centre_y
        with canvas.transformed(12, cx, cy, opacity=0.9) as pdf:
            pdf.set_draw_color(*color)
            pdf.set_line_width(0.9)
            pdf.rect(cx - w / 2, cy - h / 2, w, h, style="D", round_corners=True, corner_radius=2.5)
            pdf.set_line_width(0.3)
            pdf.rect(
                cx - w / 2 + 1.3,
                cy - h / 2 + 1.3,
                w - 2.6,
                h - 2.6,
                style="D",
                round_corners=True,
                corner_radius=1.6,
            )
            canvas.text(cx, cy + pt_to_mm(size) * _CAP_HEIGHT / 2, text, size, True, color, "C")

    def note_lines(self) -> list[_NoteLine]:
        """Notes, payment terms and the portal link: one block per line, so long notes
        continue on the next page; a section's label stays with its first line."""
        doc, labels = self.doc, self.labels
        sections: list[tuple[str, str, str | None]] = []
        if doc.message.strip():
            sections.append((labels.message, doc.message, None))
        if doc.payment_terms.strip():
            sections.append((labels.payment_terms, doc.payment_terms, None))
        if doc.bank.given and doc.amount_due.is_positive:
            sections.append((labels.bank_transfer, self.bank_text(), None))
        if doc.portal_url and doc.portal_url.strip():
            portal = doc.portal_url.strip()
            sections.append((labels.pay_online, portal, portal))
        step = line_height(_BODY)
        blocks: list[_NoteLine] = []
        for index, (label, text, url) in enumerate(sections):
            lines = self.canvas.wrap(clean_text(text), _NOTES_WIDTH, _BODY)
            gap = 6.0 if index == 0 else 3.5
            label_h = gap + line_height(_LABEL) + 0.6
            blocks.append(
                _NoteLine(lines[0], label_h + step, clean_text(label).upper(), label_h, url)
            )
            blocks += [_NoteLine(line, step, url=url) for line in lines[1:]]
        return blocks

    def bank_text(self) -> str:
        """The transfer details, one per line: holder, IBAN, BIC, free text, reference."""
        bank, labels = self.doc.bank, self.labels
        rows = [
            (labels.account_holder, bank.account_holder),
            ("IBAN", grouped(bank.iban)),
            ("BIC", bank.bic),
        ]
        lines = [f"{labels.labelled(label)} {value}" for label, value in rows if value]
        lines += [line for line in bank.details.splitlines() if line.strip()]
        if self.doc.number:
            lines.append(f"{labels.labelled(labels.reference)} {self.doc.number}")
        return "\n".join(lines)

    def draw_note_line(self, note: _NoteLine, top: float) -> None:
        canvas = self.canvas
        if note.label is not None:
            label_top = top + note.label_gap - line_height(_LABEL) - 0.6
            canvas.text(
                _LEFT, baseline(label_top, _LABEL), note.label, _LABEL, True, self.accent_text
            )
            top += note.label_gap
        color = self.accent_text if note.url else _NOTE_INK
        canvas.text(_LEFT, baseline(top, _BODY), note.text, _BODY, color=color)
        if note.url:
            width = canvas.width(canvas.prepare(note.text), _BODY)
            canvas.pdf.link(_LEFT, top, width, line_height(_BODY), note.url)

    # -- pagination and drawing

    def paginate(self, first_top: float, rows: list[_Row]) -> list[Page]:
        """Place every block: phase 1, pure arithmetic, so the page count is known before
        any footer is drawn.

        Rows move to the next page whole, unless a row is taller than _KEEP_LINES lines:
        such a row fills the rest of the page and continues on the next. The totals are
        never left alone on a page: the last row comes along, so every page with amounts
        also shows the table header.
        """
        pages: list[Page] = [[]]
        y = first_top
        step = line_height(_BODY)

        def new_page(table: bool) -> None:
            nonlocal y
            pages.append([])
            y = _NEXT_PAGE_TOP
            if table:
                place(_TableHeader())

        def place(block: _Block) -> None:
            nonlocal y
            current = pages[-1]
            if y + block.height > _CONTENT_BOTTOM + _EPSILON and current:
                carried: list[_Block] = []
                rows_here = sum(isinstance(placed, _RowPart) for placed, _ in current)
                if isinstance(current[-1][0], _RowPart) and rows_here > 1:
                    carried.append(current.pop()[0])
                new_page(table=bool(carried))
                for moved in carried:
                    place(moved)
            pages[-1].append((block, y))
            y += block.height

        place(_TableHeader())
        for row in rows:
            start = 0
            while start < row.line_count:
                left = row.line_count - start
                room = int((_CONTENT_BOTTOM - y - 2 * _ROW_PAD_Y + _EPSILON) // step)
                if left <= room:
                    take = left
                elif left > _KEEP_LINES and room >= 3:
                    take = room
                else:
                    new_page(table=True)
                    continue
                part = _RowPart(row, (start, start + take), take * step + 2 * _ROW_PAD_Y)
                pages[-1].append((part, y))
                y += part.height
                start += take
                if start < row.line_count:
                    new_page(table=True)
        place(self.totals())
        for note in self.note_lines():
            place(note)
        return pages

    def render(self) -> bytes:
        canvas = self.canvas
        columns = self.columns()
        rows = self.rows(columns)
        canvas.new_page()
        # The first header does not depend on the rest, so it is drawn straight away and
        # its height starts the flow.
        pages = self.paginate(self.draw_first_header(), rows)
        for number, placed in enumerate(pages, start=1):
            if number > 1:
                canvas.new_page()
                self.draw_next_header()
            for block, top in placed:
                if isinstance(block, _TableHeader):
                    self.draw_table_header(columns, top)
                elif isinstance(block, _RowPart):
                    self.draw_row(block, top)
                elif isinstance(block, _Totals):
                    self.draw_totals(block, top)
                else:
                    self.draw_note_line(block, top)
            self.draw_footer(number, len(pages))
        return bytes(canvas.pdf.output(output_producer_class=FastFontOutputProducer))


def warm_up(*, fallback: bool = False) -> None:
    """Parse the bundled fonts now rather than in the first request (~35 ms; the full
    fallback face, only needed for non-Latin text, another ~30 ms). Optional: call it from
    the app's startup."""
    fonts = font_set()
    if fallback:
        fonts.fallback  # noqa: B018 - loading is the point


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    """Render an invoice to PDF bytes. Same document, same bytes."""
    try:
        return _Renderer(doc).render()
    finally:
        release_fonts()
