"""The translation scaffold (docs/architecture.md, Decisions: languages): how a locale finds
its catalog, the English fallback, and the catalogs themselves - every string of the code is
in messages.pot, every language has every string, the .mo files are compiled from the
current .po, placeholders survive translation, and what a French client receives (invoice
PDF labels, invoice emails) is translated."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from billing_app import i18n
from billing_app.adapters import email_templates
from billing_app.adapters.pdf import InvoiceLabels
from billing_app.i18n import catalog_language, gettext, ngettext, translator

ROOT = Path(__file__).resolve().parents[2]
POT = i18n.LOCALE_DIR / "messages.pot"
LANGUAGES = [path.parent.parent.name for path in sorted(i18n.LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))]
CLIENT_EMAILS = (
    "invoice_sent",
    "receipt",
    "refund",
    "payment_reminder",
    "invoice_voided",
    "portal_invitation",
    "portal_access_granted",
    "portal_password_reset",
    "portal_password_changed",
    "portal_account_changed",
)
STAFF_EMAILS = ("password_reset", "invitation", "password_changed", "account_changed")
REBUILD = "run `make i18n` (extract, update the catalogs, compile) and commit the .pot and .po"


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def ids(catalog: Catalog) -> set[Any]:
    return {message.id for message in catalog if message.id}


# --------------------------------------------------------------------------- resolving locales


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("fr", "fr"),
        ("fr_FR", "fr"),
        ("fr-FR", "fr"),
        ("fr_fr", "fr"),
        ("FR", "fr"),
        ("fr_CA", "fr"),
        ("fr_FR.UTF-8", "fr"),
        ("en", "en"),
        ("en_GB", "en"),
        ("en-US", "en"),
        ("de_DE", "en"),  # no German catalog yet
        ("zz", "en"),  # not a locale at all
        ("123", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_locale_reads_the_catalog_of_its_language(locale: str | None, language: str) -> None:
    assert catalog_language(locale) == language


def test_words_come_from_the_catalog_of_the_locale_and_else_read_in_english() -> None:
    assert gettext("Bill to", locale="fr_FR") == "Facturé à"
    assert gettext("Bill to", locale="fr") == "Facturé à"
    assert gettext("Bill to", locale="en_GB") == "Bill to"
    assert gettext("Bill to", locale="de_DE") == "Bill to"
    assert gettext("Bill to", locale="zz") == "Bill to"
    assert gettext("Bill to", locale=None) == "Bill to"
    # A string the catalog does not have (yet) reads as written.
    assert gettext("A sentence nobody translated", locale="fr_FR") == "A sentence nobody translated"


def test_plurals_follow_the_rules_of_the_language() -> None:
    one, many = (
        "Payment due within {days} day, by {date}.",
        "Payment due within {days} days, by {date}.",
    )
    assert ngettext(one, many, 1, locale="en") == one
    assert ngettext(one, many, 30, locale="en") == many
    assert ngettext(one, many, 1, locale="fr_FR").startswith("Paiement à {days} jour,")
    assert ngettext(one, many, 30, locale="fr_FR").startswith("Paiement à {days} jours,")
    assert ngettext(one, many, 0, locale="fr_FR").startswith(
        "Paiement à {days} jour,"
    )  # 0: singular
    assert ngettext(one, many, 0, locale="en") == many


def test_catalogs_are_loaded_once_per_language() -> None:
    assert translator("fr_FR") is translator("fr-FR") is translator("fr")
    assert translator("de_DE") is translator("en") is translator(None)


def test_pdf_labels_follow_the_document_locale() -> None:
    french = InvoiceLabels.for_locale("fr_FR")
    assert (french.title, french.bill_to, french.description, french.quantity) == (
        "Facture",
        "Facturé à",
        "Désignation",
        "Quantité",
    )
    assert (french.unit_price, french.amount, french.subtotal, french.discount_total) == (
        "Prix unitaire",
        "Montant",
        "Sous-total",
        "Remise",
    )
    assert (french.total, french.amount_due, french.stamp_paid, french.stamp_void) == (
        "Total",
        "Reste à payer",
        "PAYÉE",
        "ANNULÉE",
    )
    assert InvoiceLabels.for_locale("en_GB") == InvoiceLabels()
    assert InvoiceLabels.for_locale("de_DE") == InvoiceLabels()


# --------------------------------------------------------------------------- the catalogs


def extracted_from_source() -> Catalog:
    """What `make i18n` extracts (babel.cfg), done here."""
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=DEFAULT_KEYWORDS,
        comment_tags=("TRANSLATORS:",),
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def test_messages_pot_has_every_string_of_the_code_and_templates() -> None:
    in_source, in_pot = ids(extracted_from_source()), ids(read_catalog(POT))
    assert in_source, "nothing extracted: is babel.cfg right?"
    assert not in_source - in_pot, f"strings not in messages.pot: {REBUILD}"
    assert not in_pot - in_source, f"strings in messages.pot no longer used: {REBUILD}"


def test_there_is_an_english_and_a_french_catalog() -> None:
    assert {"en", "fr"} <= set(LANGUAGES)
    assert set(i18n.languages()) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_has_every_string_of_messages_pot(language: str) -> None:
    catalog = read_catalog(i18n.catalog_path(language, ".po"), language)
    missing = ids(read_catalog(POT)) - ids(catalog)
    assert not missing, f"{language}/messages.po lacks {sorted(map(str, missing))[:5]}: {REBUILD}"
    assert not catalog.fuzzy, f"the header of {language}/messages.po is fuzzy: it would not compile"


def placeholders(text: str) -> set[str]:
    """{name} and %(name)s placeholders."""
    return set(re.findall(r"\{(\w*)\}", text)) | set(re.findall(r"%\((\w+)\)s", text))


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_compile_and_keep_every_placeholder(language: str) -> None:
    catalog = read_catalog(i18n.catalog_path(language, ".po"), language)
    assert not [(m.id, errors) for m, errors in catalog.check()]
    for message in catalog:
        if not message.id or not message.string:
            continue
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert len(strings) == catalog.num_plurals or isinstance(message.id, str), message.id
        expected = placeholders(sources[-1])
        for string in strings:
            if not string:
                continue
            found = placeholders(string)
            # No unknown placeholder (it would fail at runtime); none dropped, but a plural
            # form may say its number in words.
            assert found <= expected, f"{language}: {message.id!r} -> {string!r}"
            assert expected - found <= {"count", "days"}, f"{language}: {string!r}"
    write_mo(io.BytesIO(), catalog)


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogs_are_those_of_the_current_po_files(language: str) -> None:
    mo = i18n.catalog_path(language)
    assert mo.exists(), f"{mo} is missing: run `make catalogs` (make run and make test do)"
    expected = io.BytesIO()
    write_mo(expected, read_catalog(i18n.catalog_path(language, ".po"), language))
    assert mo.read_bytes() == expected.getvalue(), f"{mo} is stale: run `make catalogs`"


# --------------------------------------------------------------------------- emails


CONTEXT: dict[str, Any] = {
    "sender_name": "Studio Nord",
    "footer": "Studio Nord · Helsinki",
    "name": "Olivia",
    "change": "Two-factor authentication was turned on.",
    "inviter_name": "Olivia Owner",
    "role_label": "Accountant",
    "accept_url": "https://billing.test/accept-invite?token=x",
    "expires_on": "8 April 2026",
    "reset_url": "https://billing.test/reset-password?token=x",
    "expires_minutes": 60,
    "contact_name": "Jürgen",
    "number": "INV-2026-00001",
    "total": "€496.92",
    "due_date": "March 28, 2026",
    "message": "Thanks!",
    "support_email": "help@studio-nord.test",
    "amount": "€96.92",
    "received_on": "March 14, 2026",
    "method": "Cheque",
    "reference": "CHQ 7",
    "balance": "€400.00",
    "fully_paid": False,
    "overdue": False,
    "reason": "Billed twice",
    "card": "Visa •••• 4242",
    "refunded_on": "March 16, 2026",
    "brand_name": "Nord Hosting",
    "client_name": "Atelier Jürgen",
    "portal_url": "https://billing.nord-hosting.test/portal",
}
VARIANTS: list[dict[str, Any]] = [
    {},
    # A staff member invites (the brand names itself); no name was given.
    {"fully_paid": True, "overdue": True, "expires_minutes": 1, "inviter_name": "", "name": ""},
]


@dataclass
class Recorder:
    """Translations that note every string a render looks up."""

    language: str
    looked_up: set[Any] = field(default_factory=set)

    def gettext(self, message: str) -> str:
        self.looked_up.add(message)
        return translator(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        self.looked_up.add((singular, plural))
        return translator(self.language).ngettext(singular, plural, n)


def looked_up_by(kinds: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> set[Any]:
    recorder = Recorder("fr")
    monkeypatch.setattr(email_templates, "translator", lambda locale: recorder)
    for kind in kinds:
        for variant in VARIANTS:
            email_templates.render_email(kind, {**CONTEXT, **variant}, locale="fr")
    return recorder.looked_up


def test_emails_look_up_only_strings_of_messages_pot(monkeypatch: pytest.MonkeyPatch) -> None:
    """The templates are rendered with the whitespace rule they are extracted with."""
    looked_up = looked_up_by(CLIENT_EMAILS + STAFF_EMAILS, monkeypatch)
    missing = looked_up - ids(read_catalog(POT))
    assert not missing, f"looked up but not extracted: {missing}"


def test_what_a_french_client_receives_is_all_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    """The invoice PDF, the four invoice emails and what the invoicing services put in them
    (payment terms, payment methods)."""
    english = InvoiceLabels()
    needed: set[Any] = {getattr(english, label.name) for label in fields(InvoiceLabels)}
    needed |= {email_templates.SUBJECTS[kind] for kind in CLIENT_EMAILS}
    needed |= looked_up_by(CLIENT_EMAILS, monkeypatch)
    needed |= {
        message.id
        for message in read_catalog(POT)
        if any(
            path.startswith(("billing_app/adapters/pdf", "billing_app/services/invoicing/"))
            for path, _ in message.locations
        )
    }
    assert "Bank transfer" in needed and "Payment due on receipt, by {date}." in needed
    french = read_catalog(i18n.catalog_path("fr", ".po"), "fr")
    untranslated = []
    for msgid in needed:
        message = french.get(msgid)
        strings = [] if message is None else message.string
        strings = [strings] if isinstance(strings, str) else list(strings)
        if message is None or message.fuzzy or not all(strings):
            untranslated.append(msgid)
    assert not untranslated, f"not translated in fr/messages.po: {untranslated}"


@pytest.mark.parametrize("locale", ["en", "fr_FR"])
def test_values_in_translated_sentences_are_escaped(locale: str) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    context = {**CONTEXT, "contact_name": hostile, "number": hostile, "support_email": hostile}
    for kind in CLIENT_EMAILS:
        html = email_templates.render_email(kind, context, locale=locale).html
        assert hostile not in html, kind
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, kind
