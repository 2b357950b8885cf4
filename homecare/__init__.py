"""homecare."""
