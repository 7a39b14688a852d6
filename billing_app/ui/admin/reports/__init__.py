"""Reports: cash."""
