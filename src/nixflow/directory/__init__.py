"""Directories people sign in against (LDAP / Active Directory): the protocol, nothing of NixFlow's storage."""
