"""The "unified video" API resold by many gateways: `POST /v1/video/create`, `GET /v1/video/query`.

Gateways differ in status spellings, where they put progress, the video URL and failure reasons,
and in how they report errors, so every answer is read defensively. The API has no idempotency:
a create whose outcome is unknown is never retried (see `OutcomeUnknownError`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot import metrics
from bot.providers.base import (
    GenerationRequest,
    JobRejectedError,
    OutcomeUnknownError,
    ProviderHealth,
    ProviderMisconfiguredError,
    ProviderOutOfCreditsError,
    ReferenceImage,
    TaskState,
    TaskStatus,
    TransientProviderError,
    VideoProvider,
)
from bot.providers.http import parse_retry_after, read_json
from bot.providers.profiles import ModelProfile

log = logging.getLogger(__name__)

STATUS_SPELLINGS: dict[str, TaskState] = {
    **dict.fromkeys(("pending", "queued", "not_start", "submitted"), "queued"),
    **dict.fromkeys(("processing", "in_progress", "running", "generating"), "processing"),
    **dict.fromkeys(("completed", "succeeded", "success"), "succeeded"),
    **dict.fromkeys(("failed", "failure", "error", "cancelled", "expired"), "failed"),
}

# A 404 means "no such task" only with the gateway's own code; any other 404 (a proxy's page,
# a wrong route) is retried until the deadline: the task may still finish and be billed.
UNKNOWN_TASK_CODES = frozenset({"not_found", "task_not_found"})

REFUSAL_CODES = {
    "sentinel_block": "The video service refused the prompt before generating.",
    "moderation_blocked": "The video service's moderation stopped the video.",
}


class UnifiedProvider(VideoProvider):
    name = "unified"
    idempotent_create = False

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        profile: ModelProfile,
        poll_seconds: tuple[float, ...],
        timeout_seconds: float,
        session: aiohttp.ClientSession,
    ) -> None:
        super().__init__(profile, poll_seconds)
        self._base = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session = session

    async def close(self) -> None:
        return None  # the shared session belongs to the caller

    async def probe(self) -> ProviderHealth:
        # No documented endpoint for this; most gateways are OpenAI-compatible and list models.
        try:
            with metrics.provider_request(self.name, metrics.CATALOGUE) as call:
                async with self._session.get(
                    f"{self._base}/v1/models", headers=self._auth, timeout=self._timeout
                ) as response:
                    call.answered(response.status)
                    body = await read_json(response)
                    status = response.status
        except (TimeoutError, aiohttp.ClientError) as error:
            return ProviderHealth(
                None, None, f"gateway unreachable ({type(error).__name__})", unreachable=True
            )
        if status in (401, 403):
            log.error("the gateway refused UNIFIED_API_KEY (HTTP %s)", status)
            return ProviderHealth(False, None, f"API key refused (HTTP {status})")
        models = body.get("data") if isinstance(body, dict) else None
        if status != 200 or not isinstance(models, list):
            return ProviderHealth(None, None, "the gateway does not list its models; not checked")
        ids = {m.get("id") for m in models if isinstance(m, dict)}
        if self.profile.model in ids:
            return ProviderHealth(True, True, f"model {self.profile.model!r} is listed")
        return ProviderHealth(True, False, f"model {self.profile.model!r} is not listed")

    async def prepare_reference(self, image: ReferenceImage, idempotency_key: str) -> str:
        # No upload endpoint: the gateway fetches a public URL itself.
        if not image.source_url:
            raise JobRejectedError("This video service needs a public link to the image.")
        return image.source_url

    async def create(self, request: GenerationRequest) -> str:
        body = {
            "images": [request.reference_url] if request.reference_url else [],
            "model": request.model,
            "orientation": request.orientation,
            "prompt": request.prompt,
            "size": request.quality or self.profile.default_quality or "large",
            "duration": request.duration,
            "watermark": bool(request.toggles.get("watermark", False)),
            "private": bool(request.toggles.get("private", True)),
        }
        try:
            with metrics.provider_request(self.name, metrics.CREATE) as call:
                async with self._session.post(
                    f"{self._base}/v1/video/create",
                    json=body,
                    headers=self._auth,
                    timeout=self._timeout,
                ) as response:
                    call.answered(response.status)
                    answer = await read_json(response)
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
        except aiohttp.ClientConnectorError as error:
            # Nothing reached the gateway: safe to try again.
            raise TransientProviderError(
                f"Could not reach the video service ({type(error).__name__}).", code="network"
            ) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise OutcomeUnknownError(
                "The video service did not answer after the job was sent, and it cannot tell "
                "whether the job started, so it was not sent again.",
                code="outcome_unknown",
            ) from error

        if 200 <= status < 300:
            task_id = answer.get("id") if isinstance(answer, dict) else None
            if not isinstance(task_id, str) or not task_id:
                raise OutcomeUnknownError(
                    "The video service answered without a task id, so the job cannot be followed.",
                    code="no_task_id",
                )
            return task_id
        raise _create_error(status, answer, retry_after)

    async def status(self, task_id: str) -> TaskStatus:
        # encoded=True: yarl would otherwise turn %3A back into the colon gateways choke on.
        url = URL(f"{self._base}/v1/video/query?id={quote(task_id, safe='')}", encoded=True)
        try:
            with metrics.provider_request(self.name, metrics.STATUS) as call:
                async with self._session.get(
                    url, headers=self._auth, timeout=self._timeout
                ) as response:
                    call.answered(response.status)
                    answer = await read_json(response)
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
        except TimeoutError as error:
            raise TransientProviderError("The video service timed out.", code="timeout") from error
        except aiohttp.ClientError as error:
            raise TransientProviderError(
                f"Could not reach the video service ({type(error).__name__}).", code="network"
            ) from None
        if status == 429:
            raise _rate_limited(retry_after)
        if status in (401, 403):
            raise _misconfigured(status)
        if not isinstance(answer, dict):
            # An HTML page or a broken body: keep polling until the deadline decides.
            raise TransientProviderError(
                f"The video service sent an unreadable answer (HTTP {status}).", code="malformed"
            )
        if status >= 400:
            message = error_message(answer) or f"HTTP {status}"
            if status == 404 and error_code(answer) in UNKNOWN_TASK_CODES:
                raise JobRejectedError(f"The video service does not know this task: {message}")
            raise TransientProviderError(f"The video service answered: {message}")
        return parse_task(answer)


def parse_task(answer: dict[str, Any]) -> TaskStatus:
    """Normalise one query answer from any known gateway variant."""
    raw = str(answer.get("status", "")).strip().lower()
    state = STATUS_SPELLINGS.get(raw)
    detail = _dict(answer.get("detail"))
    progress = read_progress(answer, detail)
    if state == "succeeded":
        url = video_url(answer, detail)
        if url:
            return TaskStatus("succeeded", progress=100, video_url=url)
        # "Completed" without a link yet: some gateways fill it in a moment later.
        return TaskStatus("processing", progress=progress)
    if state == "failed":
        return TaskStatus("failed", failure_reason=failure_reason(answer, detail))
    if state is None:
        log.info("unknown task status %r; polling on until the deadline", raw)
        return TaskStatus("processing", progress=progress)
    return TaskStatus(state, progress=progress)


def read_progress(answer: dict[str, Any], detail: dict[str, Any]) -> int | None:
    value = answer.get("progress")
    if value is not None:
        try:
            number = float(str(value).strip().rstrip("%"))
        except ValueError:
            number = None
        if number is not None:
            return max(0, min(100, round(number)))
    pending = _dict(detail.get("pending_info"))
    fraction = pending.get("progress_pct")
    if isinstance(fraction, int | float):
        return max(0, min(100, round(float(fraction) * 100)))
    return None


def video_url(answer: dict[str, Any], detail: dict[str, Any]) -> str | None:
    draft = _dict(detail.get("draft_info"))
    source = _dict(_dict(draft.get("encodings")).get("source"))
    for candidate in (
        answer.get("video_url"),
        detail.get("url"),
        draft.get("downloadable_url"),
        source.get("path"),
    ):
        if isinstance(candidate, str) and candidate.startswith(("http://", "https://")):
            return candidate
    return None


def failure_reason(answer: dict[str, Any], detail: dict[str, Any]) -> str:
    pending = _dict(detail.get("pending_info"))
    for candidate in (
        answer.get("fail_reason"),
        answer.get("error"),
        pending.get("failure_reason"),
        pending.get("moderation_result"),
    ):
        text = _plain(candidate)
        if text:
            return text
    return "The video service gave no reason."


def error_code(answer: Any) -> str | None:
    """`error.code`, then a top-level `code`, as the gateway spelled it."""
    if not isinstance(answer, dict):
        return None
    error = answer.get("error")
    code = error.get("code") if isinstance(error, dict) else answer.get("code")
    return str(code) if code else None


def error_message(answer: Any) -> str | None:
    """`error.message`, then `message`, then `error` as a string."""
    if not isinstance(answer, dict):
        return None
    error = answer.get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if answer.get("message"):
        return str(answer["message"])
    if isinstance(error, str) and error:
        return error
    return None


def _dict(value: Any) -> dict[str, Any]:
    """`value` if it is an object, else an empty one: gateways omit or null nested fields."""
    return value if isinstance(value, dict) else {}


def _plain(value: Any) -> str | None:
    """A failure reason in plain words from a string or an error/moderation object."""
    if isinstance(value, str):
        return REFUSAL_CODES.get(value.strip(), value.strip()) or None
    if isinstance(value, dict):
        code = value.get("code") or value.get("type")
        message = value.get("message") or value.get("reason")
        if code in REFUSAL_CODES:
            return f"{REFUSAL_CODES[code]} {message}".strip() if message else REFUSAL_CODES[code]
        if message:
            return str(message)
        if value.get("flagged") or value.get("is_blocked"):
            return REFUSAL_CODES["moderation_blocked"]
    return None


def _rate_limited(retry_after: str | None) -> TransientProviderError:
    return TransientProviderError(
        "The video service is busy (rate limited).",
        code="rate_limited",
        retry_after=parse_retry_after(retry_after),
    )


def _misconfigured(status: int) -> ProviderMisconfiguredError:
    log.error("the gateway refused UNIFIED_API_KEY (HTTP %s)", status)
    return ProviderMisconfiguredError(
        "The video service is misconfigured on this server (API key refused). "
        "An operator has to fix it.",
        code=f"http_{status}",
    )


def _create_error(status: int, answer: Any, retry_after: str | None) -> Exception:
    message = error_message(answer)
    error = answer.get("error") if isinstance(answer, dict) else None
    code = str(error.get("code") or "") if isinstance(error, dict) else ""
    log.warning("unified create answered HTTP %s (%s): %s", status, code or "-", message)
    if status == 429:
        return _rate_limited(retry_after)
    if status in (401, 403):
        return _misconfigured(status)
    if status == 402 or "quota" in code or "insufficient" in code:
        return ProviderOutOfCreditsError(
            "The video service account is out of credits. The moderators have been told.",
            code=code or "insufficient_credits",
        )
    if code in REFUSAL_CODES:
        return JobRejectedError(f"{REFUSAL_CODES[code]} {message or ''}".strip(), code=code)
    if status == 503:
        # Service unavailable: the gateway did not take the job.
        return TransientProviderError("The video service is temporarily unavailable.")
    if 400 <= status < 500 or (status == 500 and message):
        # A 4xx, or an upstream refusal wrapped in a 500 with a readable reason.
        return JobRejectedError(f"The video service refused the job: {message or status}", code)
    # A bare 5xx or an HTML page from a proxy: the job may or may not have started.
    return OutcomeUnknownError(
        f"The video service failed (HTTP {status}) and cannot tell whether the job started, "
        "so it was not sent again.",
        code=f"http_{status}",
    )
