"""ui.admin.invoices."""
