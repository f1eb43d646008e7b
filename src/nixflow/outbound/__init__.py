"""Requests NixFlow makes to addresses its users give it (webhook targets, iCal feeds): the guard they all pass."""
