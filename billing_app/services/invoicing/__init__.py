"""Invoices: drafts, sending, queries, documents (PDF), payments, refunds and voids."""
