"""What NixFlow's mail looks like on the wire, shared by the mail it sends (notifications) and the mail it reads
(email_in): the sender and thread ids, the loop header, and the per-recipient tokens."""
