"""Documents in the client's language (docs/architecture.md, Decisions: languages): a French
client's invoice PDF and emails (sent, receipt, reminder, voided) are in French with French
money and dates; an English client's stay English; a client whose language has no catalog
yet reads English words with amounts and dates in its own locale."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from pypdf import PdfReader
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice
from billing_app.db.models import OutboxEmail
from billing_app.services.common.clock import FixedClock
from billing_app.services.invoicing import notices, payments
from billing_app.services.invoicing.documents import PAYMENT_METHOD_NAMES, pdf_of
from billing_app.services.invoicing.payments import METHODS, PaymentForm

from .test_invoicing import draft, send, world

__all__ = ["world"]

# Babel writes French amounts with a narrow no-break space between thousands and a no-break
# space before the symbol; the tests compare with plain spaces.
SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


def speaking(session: Session, w: dict[str, Any], locale: str) -> None:
    client = session.get(Client, w["client"].id)
    assert client is not None
    client.locale = locale
    session.add(client)
    session.commit()


def pdf_text(session: Session, invoice_id: int) -> str:
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    session.refresh(invoice)
    pdf = pdf_of(session, invoice)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return text.translate(SPACES)


@dataclass(frozen=True)
class Queued:
    subject: str
    body_text: str
    body_html: str


def email(session: Session, kind: str) -> Queued:
    """The one message of ``kind`` in the outbox, as queued (spaces made plain)."""
    (row,) = session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == kind)).all()
    return Queued(
        row.subject.translate(SPACES),
        row.body_text.translate(SPACES),
        row.body_html.translate(SPACES),
    )


def test_a_french_clients_invoice_pdf_is_in_french(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    speaking(session, world, "fr_FR")
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    text = pdf_text(session, invoice_id)
    for label in (
        "FACTURE",
        "Facture n°",
        "Date d’émission",
        "Date d’échéance",
        "FACTURÉ À",
        "RESTE À PAYER",
        "DÉSIGNATION",
        "QUANTITÉ",
        "PRIX UNITAIRE",
        "REMISE",
        "MONTANT",
        "Sous-total",
        "Remise",
        "Total",
        "Reste à payer",
        "À PAYER",  # the stamp of an open invoice
        "CONDITIONS DE PAIEMENT",
        "Page 1 / 1",
    ):
        assert label in text, label
    # Money and dates in French (Babel, fr_FR).
    assert "496,92 €" in text and "€496.92" not in text
    assert "14 mars 2026" in text  # issue date
    assert "Échéance : 28 mars 2026" in text
    assert "Paiement à 14 jours, au plus tard le 28 mars 2026." in text
    for english in ("Bill to", "BILL TO", "Subtotal", "Amount due", "Payment due", "Qty"):
        assert english not in text, english

    # Paid in full, it says so in French too.
    payments.record_payment(
        session,
        world["actor"],
        invoice_id,
        PaymentForm("496,92", "bank_transfer", date(2026, 3, 14)),
        clock=clock,
    )
    session.commit()
    paid = pdf_text(session, invoice_id)
    assert "PAYÉE" in paid and "Montant payé" in paid and "-496,92 €" in paid
    assert "PAID" not in paid


def test_a_french_clients_emails_are_in_french(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    speaking(session, world, "fr_FR")
    invoice_id = draft(session, world, clock, message="Merci !")
    number = send(session, world, invoice_id, clock)

    sent = email(session, "invoice_sent")
    assert sent.subject == f"Facture {number} de Studio Nord Oy"
    for body in (sent.body_text, sent.body_html):
        assert "Bonjour Jürgen Çelik," in body
        assert "Merci de votre confiance." in body
        assert "Please find" not in body and "Thank you" not in body
    assert (
        f"Veuillez trouver ci-joint la facture {number} d’un montant de 496,92 €, "
        "à régler au plus tard le 28 mars 2026." in sent.body_text
    )
    assert f"<strong>{number}</strong>" in sent.body_html  # HTML around values, not in catalogs
    assert "Reste à payer :" in sent.body_text and "Date d’échéance :" in sent.body_text
    assert '<html lang="fr-FR">' in sent.body_html

    payments.record_payment(
        session,
        world["actor"],
        invoice_id,
        PaymentForm("96,92", "cheque", date(2026, 3, 14), "CHQ 7"),
        send_receipt=True,
        clock=clock,
    )
    notices.send_reminder(session, world["actor"], invoice_id, clock=clock)
    session.commit()
    receipt = email(session, "receipt")
    assert receipt.subject == f"Reçu pour la facture {number} de Studio Nord Oy"
    assert (
        f"Merci — nous avons bien reçu votre paiement de 96,92 € pour la facture {number}."
        in receipt.body_text
    )
    assert "Moyen de paiement : Chèque (réf. CHQ 7)" in receipt.body_text
    assert "Solde :" in receipt.body_text and "400,00 € à régler" in receipt.body_text
    assert "14 mars 2026" in receipt.body_text

    reminder = email(session, "payment_reminder")
    assert reminder.subject == f"Rappel : facture {number} de Studio Nord Oy"
    assert (
        f"Nous vous rappelons que la facture {number} d’un montant de 400,00 € arrive à "
        "échéance le 28 mars 2026." in reminder.body_text
    )

    second_id = draft(session, world, clock)
    second = send(session, world, second_id, clock)
    payments.void_invoice(
        session, world["actor"], second_id, "Facturée deux fois", notify_client=True, clock=clock
    )
    session.commit()
    voided = email(session, "invoice_voided")
    assert voided.subject == f"La facture {second} de Studio Nord Oy a été annulée"
    assert f"La facture {second} d’un montant de 496,92 € a été annulée." in voided.body_text
    assert "Motif : Facturée deux fois" in voided.body_text


def test_every_payment_method_is_marked_for_the_catalogs() -> None:
    """A receipt names the method in the client's language: a new one needs its N_ marker."""
    assert set(METHODS.values()) <= set(PAYMENT_METHOD_NAMES)


def test_an_english_clients_invoice_stays_english(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    number = send(session, world, invoice_id, clock)
    text = pdf_text(session, invoice_id)
    for label in ("INVOICE", "BILL TO", "DESCRIPTION", "QTY", "UNIT PRICE", "Subtotal", "DUE"):
        assert label in text, label
    assert "€496.92" in text and "Mar 14, 2026" in text
    assert "Payment due within 14 days, by March 28, 2026." in text
    assert "Facture" not in text and "FACTURÉ" not in text
    sent = email(session, "invoice_sent")
    assert sent.subject == f"Invoice {number} from Studio Nord Oy"
    assert "Hello Jürgen Çelik," in sent.body_text and "Bonjour" not in sent.body_text
    assert "Amount due: €496.92" in sent.body_text
    assert '<html lang="en">' in sent.body_html


def test_a_language_without_a_catalog_reads_english_with_its_own_formats(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    speaking(session, world, "de_CH")  # no German catalog; its decimal point reads the lines
    invoice_id = draft(session, world, clock)
    number = send(session, world, invoice_id, clock)
    text = pdf_text(session, invoice_id)
    assert "BILL TO" in text and "Subtotal" in text and "Amount due" in text
    assert "EUR 496.92" in text and "14.03.2026" in text  # Swiss money and dates (Babel)
    sent = email(session, "invoice_sent")
    assert sent.subject == f"Invoice {number} from Studio Nord Oy"
    assert "Please find attached invoice" in sent.body_text and "EUR 496.92" in sent.body_text
