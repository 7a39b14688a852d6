"""The agency's settings and its brands."""
