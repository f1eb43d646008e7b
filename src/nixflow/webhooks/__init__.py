"""Webhooks: subscriptions that are cursors over the event log, signed per Standard Webhooks, delivered in order."""
