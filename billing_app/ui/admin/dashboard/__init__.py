"""ui.admin.dashboard."""
