"""ui.admin.catalog."""
