"""Notifications: a consumer of the event log that tells people (in-app and by email) what changed."""
