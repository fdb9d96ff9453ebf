"""Local simulator of the "unified video" API (PROVIDERS.md section B).

    async with UnifiedVideoSimulator(api_key="sk-test") as sim:
        ...  # POST {sim.base_url}/v1/video/create, GET {sim.base_url}/v1/video/query?id=...

One API template resold by many gateways, each with its own quirks: every documented variant
(create shape, status spelling, progress form, where the video URL, thumbnail and failure reason
sit, error envelopes) is a knob, so a client can be tested against all of them.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from aiohttp import web

from .core import Fault, Handler, RecordedRequest, SimServer, SimTask, html_page, now_ms
from .media import jpeg_bytes

QUEUED_SPELLINGS = ("pending", "queued", "not_start", "submitted")
PROCESSING_SPELLINGS = ("processing", "in_progress", "running", "generating")
SUCCEEDED_SPELLINGS = ("completed", "succeeded", "success")
FAILED_SPELLINGS = ("failed", "failure", "error", "cancelled", "expired")
#: A status no gateway documents: a client must keep polling (until its own deadline).
UNKNOWN_SPELLING = "moderating"

CREATE_STYLES = ("task", "openai")
PROGRESS_STYLES = ("string", "int", "pending_info", "none")
VIDEO_URL_LOCATIONS = (
    "video_url",
    "detail.url",
    "detail.draft_info.downloadable_url",
    "detail.draft_info.encodings.source.path",
)
THUMBNAIL_LOCATIONS = ("thumbnail_url", "detail.thumbnail_url")
FAILURE_LOCATIONS = (
    "fail_reason",  # "fail_reason": "<text>"
    "error",  # "error": "<text>"
    "error_object",  # "error": {"message": "<text>", "code": "<code>"}
    "detail.pending_info.failure_reason",  # "<text>"
    "detail.pending_info.moderation_result",  # {"code", "is_output_rejection", "description"}
)
_CREATE_FIELDS = (
    "images",
    "model",
    "orientation",
    "prompt",
    "size",
    "duration",
    "watermark",
    "private",
)
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


@dataclass(frozen=True)
class ModelRule:
    """What a model accepts in create."""

    durations: tuple[int, ...]
    sizes: tuple[str, ...]


def default_models() -> dict[str, ModelRule]:
    return {
        "sora-2-pro": ModelRule(durations=(15, 25), sizes=("large",)),
        "sora-2": ModelRule(durations=(10,), sizes=("small", "large")),
    }


@dataclass
class UnifiedTask(SimTask):
    """A task plus the create body; failure knobs say where and how the reason is reported."""

    model: str = ""
    prompt: str = ""
    orientation: str = "landscape"
    size: str = "large"
    duration: int = 15
    watermark: bool = True
    private: bool = False
    images: list[str] = field(default_factory=list)
    fail_message: str = "Video generation failed."
    fail_location: str = "fail_reason"
    fail_code: str | None = None
    #: Polls in the succeeded state that still carry no video URL (a client must wait for it).
    url_missing_polls: int = 0

    @property
    def dimensions(self) -> tuple[int, int]:
        width, height = (1920, 1080) if self.size == "large" else (1280, 720)
        return (height, width) if self.orientation == "portrait" else (width, height)


def _put(root: dict[str, Any], dotted: str, value: object) -> None:
    """Set root[a][b][c] = value for dotted "a.b.c", creating the dicts on the way."""
    *parents, leaf = dotted.split(".")
    for name in parents:
        root = root.setdefault(name, {})
    root[leaf] = value


class UnifiedVideoSimulator(SimServer[UnifiedTask]):
    """The unified video API on 127.0.0.1.

    Endpoints (names for inject/requests_to): create, query, media (GET /media/<id>.mp4),
    thumbnail (GET /media/<id>.jpg), unknown (any other path: a 200 HTML page by default).
    """

    ENDPOINTS: ClassVar[frozenset[str]] = frozenset(
        {"create", "query", "media", "thumbnail", "unknown"}
    )
    TASK_CLASS: ClassVar[type[SimTask]] = UnifiedTask
    ERROR_MODES: ClassVar[dict[str, tuple[int, str, str]]] = {
        "validation_failed": (400, "invalid_request", "Invalid request."),
        "insufficient_credits": (403, "insufficient_user_quota", "Insufficient user quota."),
        "rate_limited": (429, "rate_limit_exceeded", "Too many requests, slow down."),
        "server_error": (500, "internal_error", "Internal server error."),
        "not_found": (404, "task_not_found", "Task not found."),
        "model_not_found": (503, "model_not_found", "No available channel for this model."),
        "error": (500, "internal_error", "Unexpected error."),
    }
    #: upstream_error: HTTP 500 (or status) whose OpenAI envelope has type upstream_error and
    #: code (e.g. code="sentinel_block"); message_error: {"code", "message", "data": null}
    #: (400); error_string: {"error": "<message>"} (400).
    EXTRA_MODES: ClassVar[frozenset[str]] = frozenset(
        {"upstream_error", "message_error", "error_string"}
    )

    def __init__(
        self,
        api_key: str = "sk-test",
        *,
        create_style: str = "task",
        spellings: dict[str, str] | None = None,
        progress_style: str = "string",
        video_url_location: str = "video_url",
        thumbnail_location: str | None = "thumbnail_url",
        media_size: int = 300_000,
        polls_until_processing: int = 1,
        polls_until_done: int = 3,
        hang_seconds: float = 3600.0,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(
            media_size=media_size,
            polls_until_processing=polls_until_processing,
            polls_until_done=polls_until_done,
            hang_seconds=hang_seconds,
            host=host,
        )
        self.api_key = api_key
        #: "task": {"id": "sora-2:task_...", "status": "pending", "status_update_time": ms};
        #: "openai": {"id": "video_...", "object": "video", "status": "queued", "progress": 0, ...}.
        self.create_style = create_style
        #: Phase (queued/processing/succeeded/failed) -> status string sent (create and query).
        self.spellings = self.default_spellings(create_style) | (spellings or {})
        #: "string" ("45"), "int" (45), "pending_info" (detail.pending_info.progress_pct 0.45),
        #: or "none".
        self.progress_style = progress_style
        #: Where a finished task's URL goes: one of VIDEO_URL_LOCATIONS.
        self.video_url_location = video_url_location
        #: One of THUMBNAIL_LOCATIONS, or None for no thumbnail.
        self.thumbnail_location = thumbnail_location
        #: Models create accepts; a model absent here answers 503 model_not_found.
        self.models = default_models()
        #: Whether images may be data: URLs (UNKNOWN upstream; rejected with 400 by default).
        self.accept_data_urls = False
        #: Default url_missing_polls of new tasks.
        self.succeeded_without_url_polls = 0
        #: Status of the HTML page served for unknown paths (gateway SPA fallback).
        self.unknown_path_status = 200

    @staticmethod
    def default_spellings(create_style: str) -> dict[str, str]:
        if create_style == "openai":
            return {
                "queued": "queued",
                "processing": "in_progress",
                "succeeded": "completed",
                "failed": "failed",
            }
        return {
            "queued": "pending",
            "processing": "processing",
            "succeeded": "completed",
            "failed": "failed",
        }

    # ----------------------------------------------------------------- test helpers

    def fail_next(
        self,
        reason: str = "Video generation failed.",
        *,
        location: str = "fail_reason",
        code: str | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` tasks fail, reporting `reason` at `location` (FAILURE_LOCATIONS).

        `code` (e.g. "sentinel_block", "moderation_blocked") appears in the structured
        locations (error_object, moderation_result); text locations carry `reason` verbatim.
        """
        if location not in FAILURE_LOCATIONS:
            raise ValueError(f"location must be one of {FAILURE_LOCATIONS}")
        for _ in range(count):
            self.next_task(
                outcome="failed", fail_message=reason, fail_location=location, fail_code=code
            )

    @property
    def image_urls(self) -> list[str]:
        """Every image URL received by create, in order (including refused or faulted creates)."""
        urls: list[str] = []
        for rec in self.requests_to("create"):
            images = rec.json.get("images") if isinstance(rec.json, dict) else None
            if isinstance(images, list):
                urls.extend(str(url) for url in images)
        return urls

    def thumbnail_url(self, task_id: str) -> str:
        """The URL of the task's thumbnail (a small JPEG served by the simulator)."""
        return self.url(f"/media/{quote(task_id, safe='')}.jpg?sig={self._sign(task_id)}")

    # ----------------------------------------------------------------- plumbing

    def _routes(self) -> list[tuple[str, str, str, Handler]]:
        return [
            ("POST", "/v1/video/create", "create", self._create),
            ("GET", "/v1/video/query", "query", self._query),
            ("GET", "/media/{task_id}.mp4", "media", self._serve_media),
            ("GET", "/media/{task_id}.jpg", "thumbnail", self._thumbnail),
        ]

    def _error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        kind = "invalid_request_error" if status < 500 else "server_error"
        body = {"error": {"message": message, "type": kind, "param": "", "code": code}}
        return web.json_response(body, status=status, headers=headers)

    def _fault_response(self, fault: Fault) -> web.Response:
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        body: dict[str, object]
        if fault.mode == "upstream_error":
            code = fault.code or "upstream_error"
            body = {
                "error": {
                    "message": fault.message or f"upstream request failed: {code}",
                    "type": "upstream_error",
                    "param": "",
                    "code": code,
                }
            }
            return web.json_response(body, status=fault.status or 500, headers=headers)
        if fault.mode == "message_error":
            body = {
                "code": fault.code or "error",
                "message": fault.message or "Request failed.",
                "data": None,
            }
            return web.json_response(body, status=fault.status or 400, headers=headers)
        if fault.mode == "error_string":
            body = {"error": fault.message or "Request failed."}
            return web.json_response(body, status=fault.status or 400, headers=headers)
        return super()._fault_response(fault)

    async def _unknown_path(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        status = self.unknown_path_status
        return web.Response(status=status, text=html_page(status), content_type="text/html")

    def _check_key(self, rec: RecordedRequest) -> web.Response | None:
        scheme, _, token = (rec.authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._error(401, "missing_api_key", "No API key provided.")
        if token.strip() != self.api_key:
            return self._error(401, "invalid_api_key", "Invalid token.")
        return None

    # ----------------------------------------------------------------- endpoints

    async def _create(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        refusal = self._check_key(rec)
        if refusal is not None:
            return refusal
        body = rec.json
        if not isinstance(body, dict):
            return self._error(400, "invalid_request", "The body must be a JSON object.")
        problem = self._validate(body)
        if problem is not None:
            return self._error(400, "invalid_request", problem)
        rule = self.models.get(body["model"])
        if rule is None:
            return self._error(
                503, "model_not_found", f"No available channel for model {body['model']}."
            )
        if body["duration"] not in rule.durations or body["size"] not in rule.sizes:
            return self._error(
                400,
                "invalid_request",
                f"{body['model']} takes duration in {list(rule.durations)} and size in "
                f"{list(rule.sizes)}.",
            )
        task = self._register_task(
            UnifiedTask(
                id=self._new_id(),
                polls_until_processing=self.polls_until_processing,
                polls_until_done=self.polls_until_done,
                url_missing_polls=self.succeeded_without_url_polls,
                **{name: copy.deepcopy(body[name]) for name in _CREATE_FIELDS},
            )
        )
        return web.json_response(self._create_json(task))

    async def _query(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        refusal = self._check_key(rec)
        if refusal is not None:
            return refusal
        task_id = request.query.get("id")
        if not task_id:
            return self._error(400, "invalid_request", "The id query parameter is required.")
        task = self.tasks.get(task_id)
        if task is None:
            return self._error(404, "task_not_found", f"Task {task_id} not found.")
        task.advance()
        return web.json_response(self._query_json(task))

    async def _thumbnail(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        task = self.tasks.get(request.match_info["task_id"])
        if task is None or task.phase != "succeeded" or task.media_expired:
            return web.Response(status=404, text="Not Found")
        if request.query.get("sig") != self._sign(task.id):
            return web.Response(status=403, text="Forbidden: bad or missing signature")
        return web.Response(body=jpeg_bytes(), content_type="image/jpeg")

    # ----------------------------------------------------------------- shapes and rules

    def _new_id(self) -> str:
        if self.create_style == "openai":
            return f"video_{secrets.token_hex(16)}"
        return "sora-2:task_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))

    def _create_json(self, task: UnifiedTask) -> dict[str, Any]:
        status = self.spellings["queued"]
        if self.create_style == "task":
            return {"id": task.id, "status": status, "status_update_time": now_ms(task.created_at)}
        width, height = task.dimensions
        return {
            "id": task.id,
            "object": "video",
            "model": task.model,
            "status": status,
            "progress": 0,
            "created_at": int(task.created_at),
            "size": f"{width}x{height}",
            "seconds": str(task.duration),
        }

    def _query_json(self, task: UnifiedTask) -> dict[str, Any]:
        phase = task.phase
        status = self.spellings[phase]
        width, height = task.dimensions
        payload: dict[str, Any] = {
            "id": task.id,
            "status": status,
            "video_url": None,
            "thumbnail_url": None,
            "status_update_time": now_ms(task.phase_changed_at),
            "created_at": int(task.created_at),
            "width": width,
            "height": height,
            "enhanced_prompt": None if phase == "queued" else task.prompt,
            "detail": {"id": f"gen_{task.id[-12:]}", "status": status},
        }
        if self.progress_style == "string":
            payload["progress"] = str(task.progress)
        elif self.progress_style == "int":
            payload["progress"] = task.progress
        elif self.progress_style == "pending_info":
            _put(payload, "detail.pending_info.progress_pct", task.progress / 100)
        succeeded_polls = task.polls - task.polls_until_done + 1
        if phase == "succeeded" and succeeded_polls > task.url_missing_polls:
            _put(payload, self.video_url_location, self.media_url(task.id))
            if self.thumbnail_location is not None:
                _put(payload, self.thumbnail_location, self.thumbnail_url(task.id))
        if phase == "failed":
            _put(payload, *self._failure(task))
        return payload

    @staticmethod
    def _failure(task: UnifiedTask) -> tuple[str, object]:
        if task.fail_location == "error_object":
            return "error", {
                "message": task.fail_message,
                "code": task.fail_code or "generation_failed",
            }
        if task.fail_location == "detail.pending_info.moderation_result":
            moderation = {
                "code": task.fail_code or "moderation_blocked",
                "is_output_rejection": True,
                "description": task.fail_message,
            }
            return task.fail_location, moderation
        return task.fail_location, task.fail_message

    def _validate(self, body: dict[str, Any]) -> str | None:
        """The 400 message for a create body, or None when every field is well-formed."""
        missing = [name for name in _CREATE_FIELDS if name not in body]
        if missing:
            return f"Missing required field(s): {', '.join(missing)}."
        images = body["images"]
        if not isinstance(images, list) or not all(isinstance(u, str) for u in images):
            return "images must be a list of URL strings."
        for url in images:
            scheme = urlsplit(url).scheme
            if scheme not in ("http", "https") and not (scheme == "data" and self.accept_data_urls):
                return f"images must be publicly reachable http(s) URLs, got {url[:60]!r}."
        if not isinstance(body["model"], str):
            return "model must be a string."
        if body["orientation"] not in ("portrait", "landscape"):
            return "orientation must be portrait or landscape."
        if not isinstance(body["prompt"], str) or not body["prompt"].strip():
            return "prompt must be a non-empty string."
        if not isinstance(body["size"], str):
            return "size must be a string."
        duration = body["duration"]
        if not isinstance(duration, int) or isinstance(duration, bool):
            return "duration must be an integer."
        for flag in ("watermark", "private"):
            if not isinstance(body[flag], bool):
                return f"{flag} must be a boolean."
        return None
