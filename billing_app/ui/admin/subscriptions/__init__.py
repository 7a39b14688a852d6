"""ui.admin.subscriptions."""
