"""ui.admin."""
