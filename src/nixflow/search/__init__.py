"""Ticket search: the full-text index kept current from the event log, and the ranked query over it."""
