"""Moderation: the `/quota` decisions, the audit log, who may do what, and `/help`'s rules."""
