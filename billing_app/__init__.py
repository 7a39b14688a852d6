"""Client Billing: self-hosted billing for web agencies."""
