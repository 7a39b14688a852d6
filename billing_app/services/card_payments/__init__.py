"""Card payments with Stripe: the account's keys, the events Stripe sends, saved cards,
payment attempts and refunds to cards (docs/architecture.md, "Card payments")."""
