"""``FakeDiscord``: the simulated Discord (REST + gateway + CDN) and the API tests drive it with."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from . import permissions as perms
from .bodies import RequestBody
from .commands import MESSAGE_COMMAND, CommandRegistry, SyncedCommand
from .events import MessageEvents
from .faults import FaultInjector, FaultRule, RoutePattern
from .gateway import GUILDS, Gateway, GatewaySession
from .interaction_payloads import GUILD_CONTEXT, InteractionFactory, NewInteraction
from .interactions import APPLICATION_COMMAND, AUTOCOMPLETE, MODAL, InteractionHandle
from .message_model import MessageRecord
from .messages import MessageStore
from .modals import filled_components
from .notifier import StateNotifier
from .oauth import FakeOAuth
from .options import InvocationError, Upload, build_options
from .payloads import channel_payload
from .post_limits import ChannelPostLimit
from .records import ErrorRecord, RequestRecord, UploadedFile
from .rest import ApiRouter
from .routes import register_all
from .routes.oauth import add_pages as add_oauth_pages
from .settings import MiB, Settings
from .world import DM, FakeChannel, FakeRole, FakeUser, World, default_world

T = TypeVar("T")
DEFAULT_TOKEN = "fake-bot-token.simulated.discord"

UserRef = FakeUser | int | str
ChannelRef = FakeChannel | int | str
MessageRef = MessageRecord | int
UploadLike = Upload | tuple[str, bytes] | tuple[str, bytes, str]


class FakeDiscord:
    """A Discord for one guild on 127.0.0.1 that the real discord.py client accepts.

    Use as ``async with FakeDiscord() as sim:``; point a bot at ``sim.launcher_env``.
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        token: str = DEFAULT_TOKEN,
        app_owner: str = "owner",
        ack_window: float = 3.0,
        token_lifetime: float = 900.0,
        upload_limit: int = 10 * MiB,
        attachment_size_limit: int | None = None,
        nonce_window: float = 300.0,
        heartbeat_interval_ms: int = 41_250,
        followup_fills_deferred: bool = True,
        recommended_shards: int = 1,
    ) -> None:
        self.world = world or default_world()
        self.token = token
        self.app_owner = self.world.users[app_owner]
        self.settings = Settings(
            ack_window=ack_window,
            token_lifetime=token_lifetime,
            upload_limit=upload_limit,
            attachment_size_limit=attachment_size_limit,
            nonce_window=nonce_window,
            heartbeat_interval_ms=heartbeat_interval_ms,
            followup_fills_deferred=followup_fills_deferred,
        )
        self.notifier = StateNotifier(self.diagnostics)
        self.store = MessageStore(self.world)
        self.commands = CommandRegistry(self.world.application_id)
        self.faults = FaultInjector()
        self.gateway = Gateway(
            self.world,
            token=token,
            settings=self.settings,
            url=lambda: self.gateway_url,
            on_change=self.notifier.changed,
        )
        self.events = MessageEvents(self.world, self.store, self.gateway)
        self._factory = InteractionFactory(self.world, self.store)
        self.requests: list[RequestRecord] = []
        self.errors: list[ErrorRecord] = []
        self.internal_errors: list[str] = []  # tracebacks of simulator bugs (answered 503)
        self.cdn_requests: list[str] = []
        self.interactions: list[InteractionHandle] = []
        self.interactions_by_id: dict[int, InteractionHandle] = {}
        self.interactions_by_token: dict[str, InteractionHandle] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0
        # What GET /gateway/bot recommends (a bot started with SHARD_COUNT=auto follows it).
        self.recommended_shards = recommended_shards
        self._post_limit: ChannelPostLimit | None = None
        self.oauth = FakeOAuth(self.world)  # web sign-in (see oauth.py)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * MiB)
        register_all(ApiRouter(app, self), self)
        app.router.add_get("/gateway", self.gateway.handle)
        add_oauth_pages(app, self)
        app.router.add_get("/cdn/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        self.store.cdn_base = f"{self.base_url}/cdn"

    async def close(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def post_limit(self, per_window: int, window_seconds: float) -> ChannelPostLimit:
        """The per-channel limit on new bot messages, as the settings now say (a change of the
        settings starts it afresh)."""
        limit = self._post_limit
        wanted = (per_window, window_seconds)
        if limit is None or (limit.per_window, limit.window_seconds) != wanted:
            limit = self._post_limit = ChannelPostLimit(per_window, window_seconds)
        return limit

    async def _cdn(self, request: web.Request) -> web.Response:
        self.cdn_requests.append(request.path)
        attachment_id = request.match_info["attachment_id"]
        blob = self.store.blobs.get(int(attachment_id)) if attachment_id.isdigit() else None
        if blob is None:
            return web.Response(status=404, text="Not Found")
        await asyncio.sleep(self.settings.cdn_delay)
        return web.Response(body=blob.data, headers={"Content-Type": blob.content_type})

    # -- addresses ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def rest_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def launcher_env(self) -> dict[str, str]:
        """What ``tests.support.fake_discord.launch`` needs to point discord.py here."""
        return {"FAKE_DISCORD_REST": self.rest_base, "FAKE_DISCORD_GATEWAY": self.gateway_url}

    # -- world ----------------------------------------------------------------------------
    @property
    def guild_id(self) -> int:
        return self.world.guild_id

    @property
    def bot_user(self) -> FakeUser:
        return self.world.bot

    @property
    def application_id(self) -> int:
        return self.world.application_id

    def user(self, ref: UserRef) -> FakeUser:
        """A user by key (``"alice"``), id, or the object itself."""
        return self._factory.resolve_user(ref)

    def channel(self, ref: ChannelRef) -> FakeChannel:
        """A channel by name (``"general"``), id, or the object itself."""
        return self._factory.resolve_channel(ref)

    def role(self, ref: FakeRole | int | str) -> FakeRole:
        """A role by name (``"Moderator"``), id, or the object itself."""
        return self._factory.resolve_role(ref)

    async def delete_channel(self, channel: ChannelRef) -> None:
        """A moderator deletes a channel: CHANNEL_DELETE is sent, and from then on requests
        naming it (posts, edits, fetches) get 404 / 10003 Unknown Channel."""
        removed = self.world.remove_channel(self.channel(channel).name)
        payload = channel_payload(removed, self.world)
        await self.gateway.dispatch("CHANNEL_DELETE", payload, intent=GUILDS)

    def dm_channel(self, user: UserRef) -> FakeChannel:
        return self.world.open_dm(self.user(user))

    def set_dms_open(self, user: UserRef, is_open: bool) -> None:
        """With DMs closed, messages to the user's DM channel get 403 / 50007."""
        self.user(user).dms_open = is_open

    # -- traffic --------------------------------------------------------------------------
    def requests_to(self, route: str) -> list[RequestRecord]:
        """Recorded requests matching ``"METHOD /path/{param}"`` (see ``RoutePattern``)."""
        pattern = RoutePattern(route)
        return [r for r in self.requests if pattern.matches(r.method, r.path)]

    @property
    def unknown_requests(self) -> list[RequestRecord]:
        """Requests no simulated route handles (answered 404); a test can assert none."""
        return [r for r in self.requests if r.route is None]

    def rate_limit(
        self, route: str, *, times: int = 1, retry_after: float = 0.25, is_global: bool = False
    ) -> FaultRule:
        """The next ``times`` requests matching ``route`` answer 429 (e.g.
        ``"POST /channels/{channel_id}/messages"``); the rule's ``hits`` lists them."""
        return self.faults.rate_limit(
            route, times=times, retry_after=retry_after, is_global=is_global
        )

    def fail(
        self, route: str, *, status: int, code: int = 0, message: str = "", times: int = 1
    ) -> FaultRule:
        """The next ``times`` matching requests answer ``status`` with Discord error ``code``."""
        return self.faults.fail(route, status=status, code=code, message=message, times=times)

    def lose_answer(self, route: str, *, times: int = 1) -> FaultRule:
        """The next ``times`` matching requests are carried out (a message is created, an
        interaction answered), then the connection is cut before the answer: the bot's request
        fails as if it timed out, although Discord did what it asked."""
        return self.faults.lose_answer(route, times=times)

    # -- commands -------------------------------------------------------------------------
    def command(self, name: str) -> SyncedCommand:
        """The synced top-level command ``name`` (guild commands shadow global ones)."""
        found = self.commands.find(name, self.guild_id)
        if found is None:
            synced = [c.name for c in self.commands.all()]
            raise KeyError(f"/{name} was not synced; synced commands: {synced}")
        return found

    # -- user actions ---------------------------------------------------------------------
    async def invoke(
        self,
        command: str,
        *,
        user: UserRef,
        channel: ChannelRef = "general",
        options: dict[str, Any] | None = None,
        attachments: Iterable[UploadLike] = (),
        ignore_default_permissions: bool = False,
        user_install: bool = False,
        context: int = GUILD_CONTEXT,
    ) -> InteractionHandle:
        """A user runs a slash command. ``command`` may name a subcommand path
        (``"quota grant"``); ``options`` map option names to values (users/roles/channels by
        object, id or name; attachments as ``(filename, bytes[, content_type])``), and
        ``attachments`` fill the attachment options not named in ``options``, in order.

        ``user_install=True`` runs it through the app installed on the user's own account
        (``authorizing_integration_owners`` names only the user); a ``context`` of 1 (a DM with
        the bot) or 2 (another private channel) runs it outside the guild, in the user's DM
        channel, with no guild or member in the payload. Discord would offer a command there
        only if its sync allowed it; the simulator sends it regardless, as a client that
        ignores the sync would.

        Raises ``InvocationError`` for what the Discord client would not send: unknown
        command or options, wrong types, values outside choices/ranges, and commands hidden by
        ``default_member_permissions`` (unless ``ignore_default_permissions``, i.e. an admin
        granted it to the user in Server Settings -> Integrations)."""
        return await self._command_interaction(
            command,
            user=user,
            channel=channel,
            options=options or {},
            attachments=attachments,
            ignore_default_permissions=ignore_default_permissions,
            focused=None,
            user_install=user_install,
            context=context,
        )

    async def autocomplete(
        self,
        command: str,
        *,
        user: UserRef,
        focused: str,
        channel: ChannelRef = "general",
        options: dict[str, Any] | None = None,
    ) -> InteractionHandle:
        """A user types into option ``focused``; ``handle.choices`` gets the bot's answer."""
        return await self._command_interaction(
            command,
            user=user,
            channel=channel,
            options=options or {},
            attachments=(),
            ignore_default_permissions=True,
            focused=focused,
        )

    async def _command_interaction(
        self,
        command: str,
        *,
        user: UserRef,
        channel: ChannelRef,
        options: dict[str, Any],
        attachments: Iterable[UploadLike],
        ignore_default_permissions: bool,
        focused: str | None,
        user_install: bool = False,
        context: int = GUILD_CONTEXT,
    ) -> InteractionHandle:
        root, *path = command.split()
        found = self.commands.find(root, self.guild_id)
        if found is None:
            synced = [c.name for c in self.commands.all()]
            raise InvocationError(f"/{root} was not synced; synced commands: {synced}")
        member = self.user(user)
        place = self._guild_channel(channel) if context == GUILD_CONTEXT else self.dm_channel(user)
        required = found.default_member_permissions
        granted = self.world.member_permissions(member.id)
        hidden = required is not None and not perms.has_all(granted, required)
        if hidden and not ignore_default_permissions:
            raise InvocationError(
                f"/{root} is hidden from {member.username} by default_member_permissions"
            )
        built = build_options(
            found,
            path,
            options,
            [Upload.coerce(a) for a in attachments],
            channel_id=place.id,
            user_id=member.id,
            resolver=self._factory,
            focused=focused,
        )
        new = self._factory.command(
            found,
            built,
            user=member,
            channel=place,
            interaction_type=APPLICATION_COMMAND if focused is None else AUTOCOMPLETE,
            attachment_size_limit=self.settings.reported_limit_in(place.id, place.guild_id),
            user_install=user_install,
            context=context,
        )
        handle = await self._dispatch_interaction(new, " ".join([root, *path]), member, place)
        handle.user_attachments = built.attachments
        return handle

    async def click(
        self,
        message: MessageRef,
        custom_id: str,
        *,
        user: UserRef,
        values: list[str] | None = None,
        forged: bool = False,
    ) -> InteractionHandle:
        """A user presses a button (or picks ``values`` in a select) on a stored message.
        ``forged=True`` sends ``custom_id`` whether or not the message has it, as a modified
        client could: what the bot must not trust."""
        record = self._message(message)
        component = record.find_component(custom_id)
        if forged:
            component = {"type": 2, "style": 2, "label": "forged", "custom_id": custom_id}
        if component is None:
            raise InvocationError(f"{record} has no component {custom_id!r}: {record.custom_ids()}")
        if component.get("disabled"):
            raise InvocationError(f"component {custom_id!r} is disabled")
        member, place = self.user(user), self.channel(record.channel_id)
        new = self._factory.component(
            record,
            component,
            user=member,
            channel=place,
            values=values,
            attachment_size_limit=self.settings.reported_limit_in(place.id, place.guild_id),
        )
        if forged:  # the message as the forging client describes it: with that button
            new.payload["message"]["components"] = [{"type": 1, "components": [component]}]
        handle = await self._dispatch_interaction(new, custom_id, member, place)
        handle.source_message = record
        return handle

    async def invoke_message_command(
        self, name: str, message: MessageRef, *, user: UserRef
    ) -> InteractionHandle:
        """A user picks Apps → ``name`` on a stored message (a message context-menu command);
        the interaction carries ``target_id`` and the message in ``resolved.messages``."""
        found = self.commands.find(name, self.guild_id, MESSAGE_COMMAND)
        if found is None:
            synced = [(c.name, c.payload["type"]) for c in self.commands.all()]
            raise InvocationError(f"no message command {name!r}; synced commands: {synced}")
        record = self._message(message)
        member, place = self.user(user), self._guild_channel(record.channel_id)
        new = self._factory.message_command(
            found,
            record,
            user=member,
            channel=place,
            attachment_size_limit=self.settings.reported_limit_in(place.id, place.guild_id),
        )
        return await self._dispatch_interaction(new, name, member, place)

    async def submit_modal(
        self,
        opened_by: InteractionHandle,
        values: dict[str, str] | None = None,
        *,
        user: UserRef | None = None,
    ) -> InteractionHandle:
        """The user fills in the form the bot answered ``opened_by`` with (callback type 9)
        and sends it: ``values`` map text boxes' custom_ids to what was typed; boxes not named
        keep their prefilled value. Raises ``InvocationError`` for what the client would not
        send (no form shown, unknown box, required box empty, length out of bounds)."""
        if opened_by.modal is None or opened_by.response_type != MODAL:
            raise InvocationError(f"{opened_by} was not answered with a form")
        modal = opened_by.modal
        components = filled_components(modal, values or {})
        member = opened_by.user if user is None else self.user(user)
        new = self._factory.modal_submit(
            str(modal["custom_id"]),
            components,
            user=member,
            channel=opened_by.channel,
            message=opened_by.source_message,
            attachment_size_limit=self.settings.reported_limit_in(
                opened_by.channel.id, opened_by.channel.guild_id
            ),
        )
        return await self._dispatch_interaction(
            new, str(modal["custom_id"]), member, opened_by.channel
        )

    async def _dispatch_interaction(
        self, new: NewInteraction, name: str, user: FakeUser, channel: FakeChannel
    ) -> InteractionHandle:
        if not self.gateway.live_sessions:
            raise RuntimeError("no bot is connected to the gateway; await wait_until_ready()")
        now = asyncio.get_running_loop().time()
        handle = InteractionHandle(
            id=new.id,
            token=new.token,
            type=new.payload["type"],
            name=name,
            user=user,
            channel=channel,
            payload=new.payload,
            dispatched_at=now,
            token_expires_at=now + self.settings.token_lifetime,
            _notifier=self.notifier,
            _clock=asyncio.get_running_loop().time,
        )
        self.interactions.append(handle)
        self.interactions_by_id[handle.id] = handle
        self.interactions_by_token[handle.token] = handle
        await self.gateway.dispatch("INTERACTION_CREATE", new.payload)
        return handle

    async def react(
        self, user: UserRef, channel: ChannelRef, message: MessageRef, emoji: str
    ) -> None:
        """``user`` adds ``emoji`` (unicode, or ``name:id`` for custom) to a stored message;
        the bot gets MESSAGE_REACTION_ADD even if it never saw the message."""
        record = self._message(message, channel)
        member = self.user(user)
        if self.store.add_reaction(record, member.id, emoji):
            await self.events.reaction(record, member.id, emoji, added=True)
        await self.notifier.changed()

    async def unreact(
        self, user: UserRef, channel: ChannelRef, message: MessageRef, emoji: str
    ) -> None:
        record = self._message(message, channel)
        member = self.user(user)
        if self.store.remove_reaction(record, member.id, emoji):
            await self.events.reaction(record, member.id, emoji, added=False)
        await self.notifier.changed()

    async def user_message(
        self,
        user: UserRef,
        channel: ChannelRef,
        content: str,
        *,
        reply_to: MessageRef | None = None,
        dispatch: bool = True,
        attachments: Iterable[UploadLike] = (),
    ) -> MessageRecord:
        """A user posts in a channel (MESSAGE_CREATE unless ``dispatch=False``, which seeds
        history as if posted while the bot was away), with ``attachments`` given as
        ``(filename, bytes[, content_type])`` or ``Upload``s."""
        place, author = self.channel(channel), self.user(user)
        uploads = [Upload.coerce(a) for a in attachments]
        files = [
            UploadedFile(
                f"files[{index}]",
                upload.filename,
                upload.content_type or "application/octet-stream",
                upload.data,
            )
            for index, upload in enumerate(uploads)
        ]
        payload: dict[str, Any] = {"content": content}
        if reply_to is not None:
            payload["message_reference"] = {"message_id": str(self._message(reply_to).id)}
        record = self.store.create(
            channel_id=place.id,
            guild_id=place.guild_id,
            author_id=author.id,
            body=RequestBody(json=payload, files=files),
        )
        if dispatch:
            await self.events.created(record)
        await self.notifier.changed()
        return record

    # -- message store --------------------------------------------------------------------
    def messages(
        self,
        channel: ChannelRef,
        *,
        author: UserRef | None = None,
        include_ephemeral: bool = False,
        include_deleted: bool = False,
    ) -> list[MessageRecord]:
        """Messages in a channel, oldest first (ephemeral responses only if asked)."""
        records = self.store.in_channel(
            self.channel(channel).id,
            include_ephemeral=include_ephemeral,
            include_deleted=include_deleted,
        )
        if author is not None:
            author_id = self.user(author).id
            records = [m for m in records if m.author_id == author_id]
        return records

    def bot_messages(self, channel: ChannelRef, **filters: bool) -> list[MessageRecord]:
        return self.messages(channel, author=self.bot_user, **filters)

    def message(self, message_id: int) -> MessageRecord:
        record = self.store.by_id.get(message_id)
        if record is None:
            raise KeyError(f"no message {message_id}")
        return record

    def _message(self, ref: MessageRef, channel: ChannelRef | None = None) -> MessageRecord:
        record = self.store.get(ref.id if isinstance(ref, MessageRecord) else ref)
        if record is None:
            raise InvocationError(f"no live message {ref}")
        if channel is not None and record.channel_id != self.channel(channel).id:
            raise InvocationError(f"{record} is not in channel {channel!r}")
        return record

    def _guild_channel(self, ref: ChannelRef) -> FakeChannel:
        place = self.channel(ref)
        if place.type == DM:
            raise InvocationError("the simulator runs commands in guild channels only")
        return place

    # -- waiting --------------------------------------------------------------------------
    async def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = 5.0, what: str = ""
    ) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every state change: requests,
        messages, gateway traffic) and return its value; ``TimeoutError`` with diagnostics."""
        return await self.notifier.wait_for(predicate, timeout, what)

    async def wait_until_ready(
        self,
        timeout: float = 15.0,
        *,
        identifies: int = 1,
        require_commands: bool = True,
    ) -> GatewaySession:
        """Until a bot is connected with its guild delivered, has IDENTIFYed at least
        ``identifies`` times in total (pass ``sim.gateway.identifies + 1`` before a restart),
        and (unless ``require_commands=False``) has synced commands at least once."""

        def ready() -> GatewaySession | None:
            if self.gateway.identifies < identifies:
                return None
            if require_commands and self.commands.sync_count == 0:
                return None
            live = [s for s in self.gateway.live_sessions if "GUILD_CREATE" in s.events]
            return live[-1] if live else None

        return await self.wait_for(ready, timeout, "bot ready (identified, guild sent, synced)")

    # -- gateway control ------------------------------------------------------------------
    async def reconnect_gateway(self) -> None:
        """Ask the bot to reconnect and RESUME (op 7)."""
        await self.gateway.request_reconnect()

    async def invalidate_sessions(self) -> None:
        """Invalidate every session (op 9): the bot must IDENTIFY afresh."""
        await self.gateway.invalidate_sessions()

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the bot's socket abruptly; it should reconnect and RESUME."""
        await self.gateway.drop_connections(code)

    # -- diagnostics ----------------------------------------------------------------------
    def diagnostics(self) -> str:
        lines = [
            f"gateway: {len(self.gateway.live_sessions)} live session(s), "
            f"{self.gateway.identifies} identify, {self.gateway.resumes} resume; "
            f"commands synced {self.commands.sync_count}x",
            "last requests:",
            *(f"  {r}" for r in self.requests[-12:]),
        ]
        if self.errors:
            lines += ["error responses:", *(f"  {e}" for e in self.errors[-12:])]
        if self.internal_errors:
            lines += ["SIMULATOR ERRORS:", *self.internal_errors[-3:]]
        if self.interactions:
            lines += ["interactions:", *(f"  {i}" for i in self.interactions[-6:])]
        return "\n".join(lines)
