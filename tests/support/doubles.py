"""Hand-written test doubles for the core's ports (a clock, a chat presenter, a provider), and
`ts`, a moment written as a local date and time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.i18n import Text, render
from bot.jobs.chat_port import ChatPort, DeliveryError, UploadTooLarge
from bot.models import Job
from bot.providers.base import (
    GenerationRequest,
    ProviderHealth,
    ReferenceImage,
    TaskStatus,
    VideoProvider,
)
from bot.providers.profiles import RIVYA_SORA_2_PRO


def ts(text: str, zone: str = "UTC") -> float:
    """The moment `text` (an ISO date and time, "2026-03-10T12:00:00") in the time zone `zone`."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


class FakeClock(Clock):
    """Time that moves only when the test says so."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00Z
        self.value = start

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@dataclass
class PostedResult:
    job_id: int
    message_id: int
    text: str
    video: bytes | None
    full_quality_url: str | None = None


@dataclass
class RecordingChat(ChatPort):
    """Keeps what a member would see; can refuse big files or fail a number of times.

    It derives from the worker's port so that a change of the port's methods shows here (mypy
    checks the signatures; so does tests/unit/jobs/test_chat_port.py)."""

    upload_limit: int = 10 * 1024 * 1024
    fail_posts: int = 0
    permanent_failure: bool = False
    refuse_files: bool = False  # every post with a file is refused for good (links go through)
    statuses: dict[int, list[str]] = field(default_factory=dict)
    status_ids: dict[int, int] = field(default_factory=dict)
    results: list[PostedResult] = field(default_factory=list)
    notices: list[tuple[int, str]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    _next_id: int = 1000
    _posted: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def show_status(self, job: Job, text: str) -> int:
        self.statuses.setdefault(job.id, []).append(text)
        if job.id not in self.status_ids:
            self.status_ids[job.id] = job.status_message_id or self._new_id()
        return self.status_ids[job.id]

    async def find_posted_result(self, job: Job) -> tuple[int, str] | None:
        for result in self.results:
            if result.job_id == job.id:
                return result.message_id, "file" if result.video is not None else "link"
        return None

    async def post_result(
        self, job: Job, video: Path | None, text: str, *, full_quality_url: str | None = None
    ) -> int:
        if self.fail_posts:
            self.fail_posts -= 1
            raise DeliveryError("simulated outage", permanent=self.permanent_failure)
        if self.refuse_files and video is not None:
            raise DeliveryError("Discord answered 400 (50035): Invalid Form Body", permanent=True)
        data = video.read_bytes() if video is not None else None
        if data is not None and len(data) > self.upload_limit:
            raise UploadTooLarge()
        message_id = self._new_id()
        self.results.append(PostedResult(job.id, message_id, text, data, full_quality_url))
        async with self._posted:
            self._posted.notify_all()
        return message_id

    async def wait_for_results(self, count: int, timeout: float) -> None:
        """Wait until `count` results have been posted; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout), self._posted:
            await self._posted.wait_for(lambda: len(self.results) >= count)

    async def notify_requester(self, job: Job, text: str) -> None:
        self.notices.append((job.id, text))

    async def alert_moderators(self, text: Text) -> None:
        self.alerts.append(render(text, "en"))

    def last_status(self, job_id: int) -> str:
        return self.statuses[job_id][-1]


class ScriptedProvider(VideoProvider):
    """A backend whose answers are given by the test, one per call, in order.

    Each scripted answer is a `TaskStatus`/task id to return or an exception to raise.
    """

    name = "scripted"

    def __init__(self, *, idempotent: bool = True, poll_seconds: tuple[float, ...] = (1.0,)):
        super().__init__(RIVYA_SORA_2_PRO, poll_seconds)
        self.idempotent_create = idempotent
        self.creates: list[object] = []
        self.statuses: list[object] = []
        self.create_calls: list[GenerationRequest] = []
        self.status_calls: list[str] = []
        self.references: list[str] = []

    async def probe(self) -> ProviderHealth:
        return ProviderHealth(True, True, "scripted")

    async def prepare_reference(self, image: ReferenceImage, idempotency_key: str) -> str:
        url = f"https://files.example/{len(self.references)}/{image.filename}"
        self.references.append(url)
        return url

    async def create(self, request: GenerationRequest) -> str:
        self.create_calls.append(request)
        return _answer(self.creates.pop(0) if self.creates else "task_1")  # type: ignore[return-value]

    async def status(self, task_id: str) -> TaskStatus:
        self.status_calls.append(task_id)
        return _answer(self.statuses.pop(0))  # type: ignore[return-value]

    async def close(self) -> None:
        return None


def _answer(value: object) -> object:
    if isinstance(value, BaseException):
        raise value
    return value
