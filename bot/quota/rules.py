"""The quota rules moderators set: guild default, role allowances, member overrides, blocks.

They are kept in bot/storage/rules.py; how they combine into an allowance is in
bot/quota/allowance.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GuildDefault:
    limit: int
    period: str


@dataclass(frozen=True)
class MemberRules:
    guild_default: GuildDefault | None
    override: int | None
    role_limits: dict[int, int]  # role id -> limit, for the member's roles that have one


@dataclass(frozen=True)
class Block:
    reason: str | None
    blocked_by: int
    blocked_at: float


@dataclass(frozen=True)
class Standing:
    """A member's rules and whether they are blocked: what admission reads for each /sora."""

    rules: MemberRules
    blocked: bool
