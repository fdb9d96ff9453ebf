"""A loopback TCP port that accepts connections and never answers: a hung database server,
API or gateway, for holding a client in its wait."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class SilentServer:
    def __init__(self) -> None:
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._changed = asyncio.Condition()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> SilentServer:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        async with self._changed:
            self.accepted += 1
            self._changed.notify_all()
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):  # read whatever comes; answer nothing
                pass

    async def wait_for_connection(self, timeout: float) -> None:
        """Until a client is connected (and waiting for an answer that never comes)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.accepted > 0)
