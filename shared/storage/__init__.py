"""MongoDB helpers: client, outbox."""
