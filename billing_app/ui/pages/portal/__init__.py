"""ui/pages/portal."""
