"""What every use case shares: errors, the clock, the list contract, the audit log,
the email outbox, tokens, CSV writing."""
