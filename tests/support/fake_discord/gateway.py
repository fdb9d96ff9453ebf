"""The gateway websocket: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, RESUME with replay,
and sequenced dispatches filtered by the session's intents. Frames are plain JSON text."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .payloads import JSON, guild_create_payload, member_payload, user_payload
from .settings import Settings
from .world import World

# Gateway intents the simulator filters on.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15

# Opcodes.
DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, RESUME, RECONNECT = 0, 1, 2, 3, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11

REPLAY_BUFFER = 2000


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    resumes: int = 0
    valid: bool = True
    buffer: list[tuple[int, str]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    events: list[str] = field(default_factory=list)  # names of every dispatch, in order

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed

    def receives(self, guild_id: int | None) -> bool:
        """Whether this session gets a guild's events: a sharded session only those of the
        guilds on its shard ((guild_id >> 22) % shard_count), and DMs only on shard 0."""
        if self.shard is None:
            return True
        shard_id, shard_count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % shard_count == shard_id


class Gateway:
    def __init__(
        self,
        world: World,
        *,
        token: str,
        settings: Settings,
        url: Callable[[], str],
        on_change: Callable[[], Awaitable[None]],
    ) -> None:
        self.world = world
        self.token = token
        self.settings = settings
        self._url = url
        self._on_change = on_change
        self.sessions: dict[str, GatewaySession] = {}
        self.connections = 0
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0
        self.guild_creates = 0
        self.presence_updates: list[JSON] = []
        # While set, new gateway connections are refused (an outage on Discord's side).
        self.refusing = False
        self.refused = 0

    # -- state for tests ------------------------------------------------------------------
    @property
    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.valid and s.connected]

    # -- websocket ------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.refusing:
            self.refused += 1
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.connections += 1
        session: GatewaySession | None = None
        await ws.send_str(
            json.dumps(
                {"op": HELLO, "d": {"heartbeat_interval": self.settings.heartbeat_interval_ms}}
            )
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op, data = payload.get("op"), payload.get("d")
                if op == HEARTBEAT:
                    self.heartbeats += 1
                    await ws.send_str(json.dumps({"op": HEARTBEAT_ACK}))
                elif op == IDENTIFY:
                    session = await self._identify(ws, data)
                elif op == RESUME:
                    session = await self._resume(ws, data)
                elif op == PRESENCE:
                    self.presence_updates.append(data)
                elif op == REQUEST_MEMBERS and session is not None:
                    await self._send_member_chunk(session, data)
        finally:
            if session is not None and session.ws is ws:
                session.ws = None
            await self._on_change()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: JSON) -> GatewaySession | None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        session = GatewaySession(
            session_id=uuid.uuid4().hex,
            intents=int(data.get("intents", 0)),
            shard=data.get("shard"),
        )
        session.ws = ws
        self.sessions[session.session_id] = session
        self.identifies += 1
        await self._send_dispatch(session, "READY", self._ready_payload(session))
        guild_sent = self.world.bot_in_guild and session.receives(self.world.guild_id)
        if session.intents & GUILDS and guild_sent:
            await self._send_dispatch(session, "GUILD_CREATE", guild_create_payload(self.world))
            self.guild_creates += 1
        await self._on_change()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: JSON) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not session.valid or data.get("token") != self.token:
            # d=false: not resumable, so discord.py starts over with a fresh IDENTIFY.
            await ws.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return None
        session.resumes += 1
        self.resumes += 1
        last_seen = int(data.get("seq") or 0)
        # Attach and replay under the lock so no new dispatch overtakes the replayed ones.
        async with session.lock:
            session.ws = ws
            for seq, frame in session.buffer:
                if seq > last_seen:
                    await ws.send_str(frame)
        await self._send_dispatch(session, "RESUMED", {})
        await self._on_change()
        return session

    async def _send_member_chunk(self, session: GatewaySession, data: JSON) -> None:
        members = [member_payload(m) for m in self.world.members.values()]
        chunk = {
            "guild_id": str(self.world.guild_id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        }
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _ready_payload(self, session: GatewaySession) -> JSON:
        user = user_payload(self.world.bot) | {"verified": True, "mfa_enabled": False}
        return {
            "v": 10,
            "user": user,
            "guilds": (
                [{"id": str(self.world.guild_id), "unavailable": True}]
                if self.world.bot_in_guild and session.receives(self.world.guild_id)
                else []
            ),
            "session_id": session.session_id,
            "resume_gateway_url": self._url(),
            "shard": session.shard or [0, 1],
            "application": {"id": str(self.world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "geo_ordered_rtc_regions": [],
        }

    # -- dispatching ----------------------------------------------------------------------
    async def _send_dispatch(self, session: GatewaySession, event: str, data: Any) -> None:
        async with session.lock:
            session.seq += 1
            frame = json.dumps({"op": DISPATCH, "t": event, "s": session.seq, "d": data})
            session.events.append(event)
            if event not in ("READY", "RESUMED"):
                session.buffer.append((session.seq, frame))
                del session.buffer[:-REPLAY_BUFFER]
            if session.ws is not None and not session.ws.closed:
                # The client may hang up while this is sent (Discord drops the frame too);
                # the event stays in the replay buffer for a RESUME.
                with contextlib.suppress(ConnectionResetError):
                    await session.ws.send_str(frame)

    async def dispatch(
        self,
        event: str,
        data: JSON,
        *,
        intent: int | None = None,
        without_content: JSON | None = None,
        guild_id: int | None = None,
    ) -> int:
        """Send an event to every valid session whose intents cover it; sessions that are
        disconnected but resumable buffer it for replay. ``without_content`` is the payload
        for sessions lacking the privileged MESSAGE_CONTENT intent. The guild whose shard gets
        it is the payload's ``guild_id``, else ``guild_id`` (an event about the guild itself).
        Returns live deliveries."""
        delivered = 0
        guild = data.get("guild_id", guild_id) if isinstance(data, dict) else guild_id
        for session in list(self.sessions.values()):
            if not session.valid or (intent is not None and not session.intents & intent):
                continue
            if not session.receives(int(guild) if guild is not None else None):
                continue  # another shard's guild
            redact = without_content is not None and not session.intents & MESSAGE_CONTENT
            await self._send_dispatch(session, event, without_content if redact else data)
            delivered += int(session.connected)
        await self._on_change()
        return delivered

    # -- connection control for tests -----------------------------------------------------
    async def request_reconnect(self) -> None:
        """Op 7 RECONNECT: discord.py closes and RESUMEs the same session."""
        for session in self.live_sessions:
            assert session.ws is not None
            await session.ws.send_str(json.dumps({"op": RECONNECT, "d": None}))

    async def invalidate_sessions(self) -> None:
        """Op 9 with d=false: discord.py drops its session and IDENTIFYs again."""
        for session in list(self.sessions.values()):
            session.valid = False
            if session.connected:
                assert session.ws is not None
                await session.ws.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))

    async def cut(self) -> None:
        """Drop every connection and refuse new ones until `restore()`."""
        self.refusing = True
        await self.drop_connections()

    def restore(self) -> None:
        self.refusing = False

    async def drop_connections(self, code: int = 4000) -> None:
        """Close sockets without notice (like a network drop); sessions stay resumable."""
        for session in self.live_sessions:
            assert session.ws is not None
            await session.ws.close(code=code)

    async def close(self) -> None:
        for session in self.sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=1001)
