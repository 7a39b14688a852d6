"""Products and services, tax rates, subscriptions."""
