"""The client portal: one page per file with its small state, in the brand frame."""
