"""The one exception for "no, and nothing was spent": a friendly reason for the member.

Core code raises `Refusal` wherever a request cannot be done (bad input, no quota, not a
moderator...); `str(refusal)` is the text shown to the member, privately. The Discord glue
renders it in one place (the command tree's error handler, and one helper for buttons), so
no command has to catch it.
"""

from __future__ import annotations


class Refusal(Exception):
    """A member-facing reason why a request was not done. Nothing was spent or changed."""
