"""Dashboard and revenue figures."""
