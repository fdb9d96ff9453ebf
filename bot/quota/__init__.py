"""Quotas: how much a member may make (allowances over the ledger), the rules moderators set,
and the blocklist."""
