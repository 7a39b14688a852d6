"""ui/pages/admin."""
