"""Clients with their websites, CSV import, demo data."""
