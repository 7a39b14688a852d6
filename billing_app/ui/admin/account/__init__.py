"""ui.admin.account."""
