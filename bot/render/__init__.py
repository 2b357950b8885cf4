"""Pure renderers: domain values → `Reply` (text + keyboards). No I/O, no database, no telegram."""
