"""ui/components."""
