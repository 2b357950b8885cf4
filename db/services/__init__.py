"""db/services."""
