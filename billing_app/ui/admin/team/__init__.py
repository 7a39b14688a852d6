"""ui.admin.team."""
