"""ui.admin.clients."""
