"""ui.admin.emails."""
