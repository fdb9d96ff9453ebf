"""Injected failures: make the next N requests to a route answer 429 or an arbitrary error."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from .records import RequestRecord


class RoutePattern:
    """``"METHOD /path"`` relative to /api/v10. ``{name}`` segments match any value, so
    ``"POST /channels/{channel_id}/messages"`` covers every channel; method ``*`` matches any."""

    def __init__(self, route: str) -> None:
        method, _, path = route.strip().partition(" ")
        if not path.startswith("/"):
            raise ValueError(
                f"route must look like 'POST /channels/{{channel_id}}/messages': {route!r}"
            )
        self.route = route
        self._method = method.upper()
        self._segments = path.strip("/").split("/")

    def matches(self, method: str, path: str) -> bool:
        if self._method not in ("*", method.upper()):
            return False
        segments = path.strip("/").split("/")
        if len(segments) != len(self._segments):
            return False
        return all(
            pattern == actual or (pattern.startswith("{") and pattern.endswith("}"))
            for pattern, actual in zip(self._segments, segments, strict=True)
        )


@dataclass
class FaultRule:
    """Answers ``times`` matching requests with ``status``/``body``; ``hits`` are those requests."""

    route: str
    times: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    hits: list[RequestRecord] = field(default_factory=list)
    # Handle the request as usual, then cut the connection instead of answering: what Discord
    # did stands, but the bot never hears of it (its request "timed out").
    lose_answer: bool = False

    def __post_init__(self) -> None:
        self._pattern = RoutePattern(self.route)

    @property
    def remaining(self) -> int:
        return self.times - len(self.hits)

    def matches(self, method: str, path: str) -> bool:
        return self._pattern.matches(method, path)

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        reset_after = headers.get("X-RateLimit-Reset-After")
        if reset_after is not None:
            # The absolute reset time must be computed when the 429 is sent, not when injected.
            headers["X-RateLimit-Reset"] = f"{time.time() + float(reset_after):.3f}"
        return headers


def rate_limit_headers(
    limit: int, remaining: int, reset_after: float, bucket: str
) -> dict[str, str]:
    """The X-RateLimit headers Discord sends with every answer on a limited route."""
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


def too_many_requests(
    retry_after: float, *, limit: int, bucket: str, scope: str = "user", is_global: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """(body, headers) of a 429 exactly as Discord sends it: JSON ``retry_after``, a ``Via``
    header (without it discord.py assumes a Cloudflare ban) and the X-RateLimit headers."""
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, math.ceil(retry_after))),
        **rate_limit_headers(limit, 0, retry_after, bucket),
        "X-RateLimit-Scope": "global" if is_global else scope,
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
    }
    return body, headers


class FaultInjector:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def rate_limit(
        self,
        route: str,
        *,
        times: int = 1,
        retry_after: float = 0.25,
        is_global: bool = False,
        scope: str = "user",
    ) -> FaultRule:
        """429 exactly as Discord sends it (see `too_many_requests`)."""
        body, headers = too_many_requests(
            retry_after,
            limit=5,
            bucket=f"fake-bucket-{len(self.rules)}",
            scope=scope,
            is_global=is_global,
        )
        return self._add(FaultRule(route, times, 429, body, headers))

    def fail(
        self, route: str, *, status: int, code: int = 0, message: str = "", times: int = 1
    ) -> FaultRule:
        body = {"message": message or f"{status}: injected failure", "code": code}
        return self._add(FaultRule(route, times, status, body))

    def lose_answer(self, route: str, *, times: int = 1) -> FaultRule:
        return self._add(FaultRule(route, times, 0, {}, lose_answer=True))

    def _add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def take(self, request: RequestRecord) -> FaultRule | None:
        """The first rule with hits left that matches, after recording the hit."""
        for rule in self.rules:
            if rule.remaining > 0 and rule.matches(request.method, request.path):
                rule.hits.append(request)
                return rule
        return None
