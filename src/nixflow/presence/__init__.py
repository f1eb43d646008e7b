"""Presence: who is on a ticket's page and who is typing a reply. Ephemeral: kept in a store with a TTL (Redis
in scale-out, this process's memory when embedded), never written to the event log."""
