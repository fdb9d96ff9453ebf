"""Lets tests wait for simulator state: every change wakes the waiters, every wait is bounded.

Waits across the package take an explicit ``timeout`` argument on purpose (hence the
``noqa: ASYNC109``): a test must never be able to wait forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class StateNotifier:
    def __init__(self, diagnostics: Callable[[], str]) -> None:
        self._condition = asyncio.Condition()
        self._diagnostics = diagnostics
        self.changes = 0

    async def changed(self) -> None:
        async with self._condition:
            self.changes += 1
            self._condition.notify_all()

    async def wait_for(
        self, predicate: Callable[[], T | None], timeout: float, what: str = ""
    ) -> T:
        """Return the first truthy value of ``predicate()``, re-checked after every change.
        On timeout raise ``TimeoutError`` with what the simulator saw, to explain the failure."""
        if not timeout or timeout <= 0:
            raise ValueError("wait_for needs a positive timeout")
        try:
            async with self._condition:
                found = await asyncio.wait_for(self._condition.wait_for(predicate), timeout)
        except TimeoutError:
            label = what or getattr(predicate, "__name__", "condition")
            raise TimeoutError(
                f"{label} not met within {timeout}s\n{self._diagnostics()}"
            ) from None
        assert found is not None  # Condition.wait_for returns only a truthy value
        return found
