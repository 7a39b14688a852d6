"""ui.auth."""
