"""ui.admin.audit."""
