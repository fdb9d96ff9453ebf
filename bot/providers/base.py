"""The small interface every video backend implements, and the errors it may raise.

Errors say what the worker should do, not what went wrong on the wire: retry later
(`TransientProviderError`), give up on this job (`JobRejectedError` and its kinds), or give up
without retrying because a second paid task might be created (`OutcomeUnknownError`).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from bot.models import ReferenceImage
from bot.providers.profiles import ModelProfile

log = logging.getLogger(__name__)

TaskState = Literal["queued", "processing", "succeeded", "failed"]


@dataclass(frozen=True)
class GenerationRequest:
    idempotency_key: str
    model: str
    prompt: str
    orientation: str
    duration: int
    quality: str | None
    toggles: dict[str, bool]
    reference_url: str | None  # what `prepare_reference` returned, if there is an image
    image: ReferenceImage | None


@dataclass(frozen=True)
class TaskStatus:
    state: TaskState
    progress: int | None = None  # 0-100 when the provider says
    video_url: str | None = None
    failure_reason: str | None = None
    # Seconds the provider says generation took (created to finished), when it says.
    took_seconds: float | None = None


@dataclass(frozen=True)
class ProviderHealth:
    """What a probe of the provider learned. None means "could not tell" (e.g. network down)."""

    key_ok: bool | None
    model_available: bool | None
    detail: str
    out_of_credits: bool = False
    credits: float | None = None  # the account balance, when the provider reports one
    unreachable: bool = False  # no answer at all (network, DNS, timeout), not a refusal

    @property
    def refuses_jobs(self) -> bool:
        return self.key_ok is False or self.model_available is False or self.out_of_credits


class ProviderError(Exception):
    """Base class. `user_message` is safe to show in Discord; `code` is the provider's code."""

    def __init__(self, user_message: str, code: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.code = code


class TransientProviderError(ProviderError):
    """Try again later (rate limit, 5xx, timeout, malformed answer)."""

    def __init__(
        self, user_message: str, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(user_message, code)
        self.retry_after = retry_after


class JobRejectedError(ProviderError):
    """This job cannot succeed; fail it and release the quota."""


class ProviderMisconfiguredError(JobRejectedError):
    """The operator must act (bad key, missing scope); logged loudly."""


class ProviderOutOfCreditsError(JobRejectedError):
    """The provider account is empty; moderators must be alerted."""


class OutcomeUnknownError(ProviderError):
    """A create without idempotency may or may not have started a task upstream."""


class VideoProvider(ABC):
    """One backend. Implementations own their wire format and nothing else."""

    name: str
    idempotent_create: bool

    def __init__(self, profile: ModelProfile, poll_seconds: tuple[float, ...]) -> None:
        self.profile = profile
        self.poll_seconds = poll_seconds

    def poll_delay(self, polls_done: int) -> float:
        """Seconds to wait before status poll number `polls_done + 1`; the last gap repeats."""
        return self.poll_seconds[min(polls_done, len(self.poll_seconds) - 1)]

    @abstractmethod
    async def probe(self) -> ProviderHealth:
        """Whether the key works and the model is available (and the credits, if said)."""

    @abstractmethod
    async def prepare_reference(self, image: ReferenceImage, idempotency_key: str) -> str:
        """Make the image usable by the provider; return the URL the create call references."""

    @abstractmethod
    async def create(self, request: GenerationRequest) -> str:
        """Start a task; return the provider's task id."""

    @abstractmethod
    async def status(self, task_id: str) -> TaskStatus: ...

    @abstractmethod
    async def close(self) -> None: ...


# How long a probe of the key and the model may take before it counts as unreachable.
PROBE_TIMEOUT_SECONDS = 20.0


async def probe_provider(provider: VideoProvider) -> ProviderHealth:
    """`provider.probe()` bounded in time; a failure becomes a health reading, never raises."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            return await provider.probe()
    except TimeoutError:
        return ProviderHealth(None, None, "the provider did not answer in time", unreachable=True)
    except Exception as error:  # an odd answer must not stop start-up or the rechecks
        log.warning("provider probe failed", exc_info=error)
        return ProviderHealth(None, None, f"probe failed ({type(error).__name__})")
