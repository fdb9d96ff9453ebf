"""Who a message actually pings, following Discord's ``allowed_mentions`` rules."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(?:everyone|here)")


@dataclass(frozen=True)
class Mentions:
    user_ids: frozenset[int] = frozenset()
    role_ids: frozenset[int] = frozenset()
    everyone: bool = False  # @everyone or @here actually pinged
    replied_user: bool = False  # the author of the replied-to message was pinged

    @property
    def pinged_anyone(self) -> bool:
        return bool(self.user_ids or self.role_ids or self.everyone or self.replied_user)


def resolve_mentions(
    content: str,
    allowed: dict[str, Any] | None,
    *,
    known_user_ids: Collection[int],
    known_role_ids: Collection[int],
    is_reply: bool,
) -> Mentions:
    """Without ``allowed_mentions`` Discord pings everything written in the content; with it,
    only what ``parse`` or the explicit ``users``/``roles`` lists allow."""
    users = {int(m) for m in _USER.findall(content)} & set(known_user_ids)
    roles = {int(m) for m in _ROLE.findall(content)} & set(known_role_ids)
    everyone = bool(_EVERYONE.search(content))
    if allowed is None:
        return Mentions(frozenset(users), frozenset(roles), everyone, is_reply)

    parse = set(allowed.get("parse", []))
    allowed_users = {int(u) for u in allowed.get("users", [])}
    allowed_roles = {int(r) for r in allowed.get("roles", [])}
    return Mentions(
        user_ids=frozenset(u for u in users if "users" in parse or u in allowed_users),
        role_ids=frozenset(r for r in roles if "roles" in parse or r in allowed_roles),
        everyone=everyone and "everyone" in parse,
        replied_user=is_reply and bool(allowed.get("replied_user", False)),
    )
