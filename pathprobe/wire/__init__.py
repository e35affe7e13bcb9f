"""Pure byte-level wire formats (no sockets)."""
