"""A simulated Discord (REST + gateway + CDN) for end-to-end tests of a discord.py bot.

See ``FakeDiscord`` (the simulator and its test API) and ``BotProcess``/``BotRunner`` (running
the bot as a subprocess pointed at it through ``tests.support.fake_discord.launch``).
"""

from .commands import SyncedCommand
from .faults import FaultRule
from .harness import BotProcess, BotRunner
from .interactions import CallbackRecord, InteractionHandle
from .message_model import AttachmentRecord, MessageRecord, MessageVersion, ReactionEvent
from .options import InvocationError, Upload
from .records import ErrorRecord, RequestRecord, UploadedFile
from .server import DEFAULT_TOKEN, FakeDiscord
from .settings import Settings
from .world import FakeChannel, FakeMember, FakeRole, FakeUser, World, default_world

__all__ = [
    "DEFAULT_TOKEN",
    "AttachmentRecord",
    "BotProcess",
    "BotRunner",
    "CallbackRecord",
    "ErrorRecord",
    "FakeChannel",
    "FakeDiscord",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "FaultRule",
    "InteractionHandle",
    "InvocationError",
    "MessageRecord",
    "MessageVersion",
    "ReactionEvent",
    "RequestRecord",
    "Settings",
    "SyncedCommand",
    "Upload",
    "UploadedFile",
    "World",
    "default_world",
]
