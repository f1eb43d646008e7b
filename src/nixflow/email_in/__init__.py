"""Email in: one parser for mail piped in (`nixflow mail receive`) and mail polled from an IMAP mailbox."""
