"""ui.admin.settings."""
