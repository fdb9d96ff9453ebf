"""Local simulator of the Rivya Public API v1 (PROVIDERS.md section A).

    async with RivyaSimulator(api_key="rvya_sk_test") as sim:
        ...  # point the client at sim.base_url

Documented behaviour: public catalogue, credits, multipart file upload with signature checks,
task creation with Idempotency-Key semantics and 75-credit billing, poll-driven status, results
served by the simulator. Shapes the docs leave open are chosen here and marked "simulator choice".
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiohttp import web

from .core import Handler, RecordedRequest, SimServer, SimTask
from .media import sniff_mime

IMAGE_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")
MB = 1000 * 1000  # Rivya states sizes in decimal units: "10 MB" is 10,000,000 bytes
#: kind -> (max bytes, accepted signatures); audio signatures are not sniffed: always rejected.
FILE_LIMITS: dict[str, tuple[int, tuple[str, ...]]] = {
    "image": (10 * MB, IMAGE_MIME_TYPES),
    "video": (50 * MB, ("video/mp4",)),
    "audio": (10 * MB, ()),
}
_CREATE_FIELDS = frozenset({"model", "prompt", "params", "client_request_id", "webhook_url"})
_REFERENCE_FIELDS = frozenset(
    {"url", "kind", "name", "mimeType", "durationSeconds", "durationToken"}
)


def select_param(key: str, options: list[str], default: str | None, label: str) -> dict[str, Any]:
    """A catalogue param of type select (the inner param shape is a simulator choice)."""
    return {
        "key": key,
        "type": "select",
        "required": False,
        "default": default,
        "options": options,
        "label": label,
    }


def sora_2_pro_model() -> dict[str, Any]:
    """The sora-2-pro catalogue entry, per the seed document."""
    return {
        "id": "sora-2-pro",
        "display_name": "Sora 2 Pro",
        "category": "video",
        "runtime": "async_task",
        "base_credits": 75,
        "billing_type": "FIXED",
        "supported_modes": ["text-to-video", "image-to-video"],
        "max_prompt_length": 10000,
        "reference_media": {
            "max_files": 1,
            "kinds": ["image"],
            "limits": {"image": {"max_bytes": 10 * MB, "mime_types": list(IMAGE_MIME_TYPES)}},
        },
        "params": [
            select_param("size", ["standard", "high"], None, "Quality tier"),
            select_param("n_frames", ["10", "15"], "10", "Duration"),
            select_param("aspect_ratio", ["landscape", "portrait"], "landscape", "Aspect ratio"),
            select_param("remove_watermark", ["false", "true"], "false", "Remove watermark"),
            select_param("upload_method", ["s3", "oss"], "s3", "Upload target"),
        ],
        "api_status": "available",
        "api_input_status": "partial_requires_files",
        "supported_api_inputs": ["text", "file"],
        "requires_files_api": False,
        "requires_upload_for_modes": ["image-to-video"],
        "url_input_supported": True,
        "file_kinds": ["image"],
        "chat_capabilities": None,
        "notices": [],
    }


def z_image_model() -> dict[str, Any]:
    """An unrelated image model, listed first as in Rivya's docs example."""
    return {
        "id": "z-image",
        "display_name": "Z-Image",
        "category": "image",
        "runtime": "async_task",
        "base_credits": 1,
        "billing_type": "FIXED",
        "supported_modes": ["text-to-image"],
        "max_prompt_length": 1000,
        "reference_media": None,
        "params": [],
        "api_status": "available",
        "api_input_status": "available_text",
        "supported_api_inputs": ["text"],
        "requires_files_api": False,
        "requires_upload_for_modes": [],
        "url_input_supported": False,
        "file_kinds": [],
        "chat_capabilities": None,
        "notices": [],
    }


def default_catalogue() -> list[dict[str, Any]]:
    return [z_image_model(), sora_2_pro_model()]


def iso(timestamp: float) -> str:
    """Rivya's timestamp format: 2026-05-11T00:00:00.000Z."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class RivyaTask(SimTask):
    """A Rivya generation task plus what the create request carried."""

    model: str = ""
    prompt: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    client_request_id: str | None = None
    idempotency_key: str | None = None
    reserved_credits: int = 0
    refunded: bool = False


@dataclass
class UploadedFile:
    """A file accepted by POST /api/v1/files; `data` is exactly what the client sent."""

    id: str
    kind: str
    mime_type: str
    data: bytes
    url: str
    filename: str | None = None
    model: str | None = None
    client_request_id: str | None = None
    created_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        """Response shape (only `url` is documented; the rest is a simulator choice)."""
        payload: dict[str, Any] = {
            "id": self.id,
            "object": "file",
            "kind": self.kind,
            "url": self.url,
            "mime_type": self.mime_type,
            "size": len(self.data),
            "name": self.filename,
            "created_at": iso(self.created_at),
        }
        if self.kind in ("video", "audio"):
            payload["duration_token"] = f"dt_{self.id}"
        return payload


class RivyaSimulator(SimServer[RivyaTask]):
    """Rivya Public API v1 on 127.0.0.1.

    Endpoints (names for inject/requests_to): models, credits, upload (POST /api/v1/files),
    file (GET /api/v1/files/{id}), uploaded (GET /uploads/<name>, the file URL), create,
    status, media (GET /media/<task>.mp4), unknown (any other path: 404 HTML).
    """

    ENDPOINTS: ClassVar[frozenset[str]] = frozenset(
        {"models", "credits", "upload", "file", "uploaded", "create", "status", "media", "unknown"}
    )
    TASK_CLASS: ClassVar[type[SimTask]] = RivyaTask
    ERROR_MODES: ClassVar[dict[str, tuple[int, str, str]]] = {
        "validation_failed": (400, "validation_failed", "The request body is invalid."),
        "insufficient_credits": (402, "insufficient_credits", "Not enough credits."),
        "rate_limited": (429, "rate_limited", "Too many requests in the current window."),
        "server_error": (500, "internal_error", "Internal server error."),
        "public_api_disabled": (503, "public_api_disabled", "Public API calls are disabled."),
        "not_found": (404, "not_found", "The requested resource does not exist."),
        "upload_rejected": (
            400,
            "validation_failed",
            "Unsupported file type: allowed image/jpeg, image/png, image/webp.",
        ),
        "error": (500, "internal_error", "Unexpected error."),
    }

    def __init__(
        self,
        api_key: str = "rvya_sk_test",
        *,
        credits: int = 1000,
        catalogue: list[dict[str, Any]] | None = None,
        media_size: int = 300_000,
        polls_until_processing: int = 1,
        polls_until_done: int = 3,
        report_progress: bool = False,
        success_status: int = 200,
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
        #: The only key accepted.
        self.api_key = api_key
        #: "active", or "revoked"/"expired": every keyed call then fails with that 401 code.
        self.key_status = "active"
        #: Account balance; 75 taken per sora-2-pro task, given back when a task fails.
        self.credits = credits
        #: What GET /api/v1/models lists and what create validates against (mutable).
        self.catalogue = default_catalogue() if catalogue is None else catalogue
        #: Add an undocumented int `progress` (0-100) to task objects.
        self.report_progress = report_progress
        #: HTTP status of a successful create/upload (the real one is UNKNOWN: any 2xx).
        self.success_status = success_status
        #: When set, each new task finishes this many seconds (wall time) after its creation,
        #: whatever the polls: for benchmarks of how soon the bot sees a finished video.
        self.generation_seconds: Callable[[RivyaTask], float] | None = None
        self.uploads: list[UploadedFile] = []
        self._idempotency: dict[str, tuple[str, dict[str, Any]]] = {}
        self._in_flight: dict[str, RecordedRequest] = {}

    # ----------------------------------------------------------------- test helpers

    def model(self, model_id: str) -> dict[str, Any]:
        """The (mutable) catalogue entry of a model; KeyError if absent."""
        entry = self._find_model(model_id)
        if entry is None:
            raise KeyError(model_id)
        return entry

    def set_model_status(self, model_id: str, api_status: str) -> None:
        """e.g. set_model_status("sora-2-pro", "coming_soon"): creates then fail validation."""
        self.model(model_id)["api_status"] = api_status

    def fail_next(self, message: str = "The generation failed.", *, count: int = 1) -> None:
        """Make the next `count` created tasks end failed with `message` (credits refunded)."""
        for _ in range(count):
            self.next_task(outcome="failed", fail_message=message)

    def upload_for_url(self, url: str) -> UploadedFile:
        """The upload a file URL refers to; KeyError if the simulator never issued it."""
        upload = self._find_upload(url)
        if upload is None:
            raise KeyError(url)
        return upload

    # ----------------------------------------------------------------- plumbing

    def _routes(self) -> list[tuple[str, str, str, Handler]]:
        return [
            ("GET", "/api/v1/models", "models", self._models),
            ("GET", "/api/v1/credits", "credits", self._credits),
            ("POST", "/api/v1/files", "upload", self._upload),
            ("GET", "/api/v1/files/{file_id}", "file", self._file),
            ("GET", "/uploads/{name}", "uploaded", self._uploaded),
            ("POST", "/api/v1/generations", "create", self._create),
            ("GET", "/api/v1/generations/{task_id}", "status", self._status),
            ("GET", "/media/{task_id}.mp4", "media", self._serve_media),
        ]

    def _error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        body = {
            "error": {"code": code, "message": message, "requestId": f"req_{secrets.token_hex(8)}"}
        }
        return web.json_response(body, status=status, headers=headers)

    def _invalid(self, message: str) -> web.Response:
        return self._error(400, "validation_failed", message)

    def _check_key(self, rec: RecordedRequest) -> web.Response | None:
        scheme, _, token = (rec.authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._error(401, "api_key_missing", "A valid Bearer API key is required.")
        if token.strip() != self.api_key:
            return self._error(401, "api_key_invalid", "The API key cannot be verified.")
        if self.key_status != "active":
            return self._error(
                401, f"api_key_{self.key_status}", f"The API key is {self.key_status}."
            )
        return None

    def _admit(self, rec: RecordedRequest) -> web.Response | None:
        key = rec.headers.get("Idempotency-Key")
        if rec.endpoint != "create" or not key:
            return None
        if key in self._in_flight:
            return self._error(
                409, "idempotency_conflict", "A request with this Idempotency-Key is in progress."
            )
        self._in_flight[key] = rec
        return None

    def _release(self, rec: RecordedRequest) -> None:
        key = rec.headers.get("Idempotency-Key")
        if key and self._in_flight.get(key) is rec:
            del self._in_flight[key]

    def _find_model(self, model_id: object) -> dict[str, Any] | None:
        return next((e for e in self.catalogue if e.get("id") == model_id), None)

    def _find_upload(self, url: object) -> UploadedFile | None:
        return next((u for u in self.uploads if u.url == url), None)

    # ----------------------------------------------------------------- endpoints

    async def _models(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        return web.json_response({"object": "list", "data": copy.deepcopy(self.catalogue)})

    async def _credits(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        refusal = self._check_key(rec)
        if refusal is not None:
            return refusal
        return web.json_response({"current_credits": self.credits})

    async def _upload(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        refusal = self._check_key(rec)
        if refusal is not None:
            return refusal
        part = rec.form.get("file")
        if part is None or not part.data:
            return self._invalid("A multipart/form-data body with a non-empty file is required.")
        kind = rec.form["kind"].text if "kind" in rec.form else ""
        if kind not in FILE_LIMITS:
            return self._invalid("kind must be one of image, video, audio.")
        model_id = rec.form["model"].text if "model" in rec.form else None
        if model_id is not None:
            entry = self._find_model(model_id)
            if entry is None:
                return self._invalid(f"Unknown model {model_id!r}.")
            if kind not in entry.get("file_kinds", []):
                return self._invalid(f"Model {model_id!r} does not accept {kind} files.")
        trace = rec.form["client_request_id"].text if "client_request_id" in rec.form else None
        if trace is not None and len(trace) > 128:
            return self._invalid("client_request_id must be at most 128 characters.")
        max_bytes, allowed = FILE_LIMITS[kind]
        mime = sniff_mime(part.data)
        if mime is None or mime not in allowed:
            return self._invalid(
                f"The file signature ({mime or 'unrecognised'}) is not an allowed {kind} type."
            )
        if len(part.data) > max_bytes:
            return self._invalid(
                f"The file is {len(part.data)} bytes; the {kind} limit is {max_bytes}."
            )
        file_id = f"file_{secrets.token_hex(8)}"
        extension = mime.split("/")[1].replace("jpeg", "jpg")
        upload = UploadedFile(
            id=file_id,
            kind=kind,
            mime_type=mime,
            data=part.data,
            url=self.url(f"/uploads/{file_id}.{extension}"),
            filename=part.filename,
            model=model_id,
            client_request_id=trace,
        )
        self.uploads.append(upload)
        return web.json_response(upload.to_json(), status=self.success_status)

    async def _file(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        refusal = self._check_key(rec)
        if refusal is not None:
            return refusal
        for upload in self.uploads:
            if upload.id == request.match_info["file_id"]:
                return web.json_response(upload.to_json())
        return self._error(404, "not_found", "File not found.")

    async def _uploaded(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        file_id = request.match_info["name"].split(".")[0]
        for upload in self.uploads:
            if upload.id == file_id:
                return web.Response(body=upload.data, content_type=upload.mime_type)
        return web.Response(status=404, text="Not Found")

    async def _create(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        refusal = self._check_key(rec)
        if refusal is not None:
            return refusal
        body = rec.json
        if not isinstance(body, dict):
            return self._invalid("The body must be a JSON object.")
        key = rec.headers.get("Idempotency-Key")
        fingerprint = json.dumps(body, sort_keys=True)
        if key and key in self._idempotency:
            first_fingerprint, first_answer = self._idempotency[key]
            if first_fingerprint != fingerprint:
                return self._error(
                    409, "idempotency_conflict", "Idempotency-Key reused with a different body."
                )
            return web.json_response(first_answer, status=self.success_status)
        problem = self._validate(body)
        if problem is not None:
            return self._invalid(problem)
        cost = int(self.model(body["model"])["base_credits"])
        if self.credits < cost:
            return self._error(
                402, "insufficient_credits", f"This task needs {cost} credits; {self.credits} left."
            )
        self.credits -= cost
        task = self._register_task(
            RivyaTask(
                id=f"task_{secrets.token_hex(12)}",
                polls_until_processing=self.polls_until_processing,
                polls_until_done=self.polls_until_done,
                model=body["model"],
                prompt=body["prompt"],
                params=dict(body.get("params") or {}),
                client_request_id=body.get("client_request_id"),
                idempotency_key=key,
                reserved_credits=cost,
            )
        )
        if self.generation_seconds is not None:
            task.ready_at = task.created_at + self.generation_seconds(task)
        answer = self._task_json(task)
        if key:
            self._idempotency[key] = (fingerprint, answer)
        return web.json_response(answer, status=self.success_status)

    async def _status(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        refusal = self._check_key(rec)
        if refusal is not None:
            return refusal
        task = self.tasks.get(request.match_info["task_id"])
        if task is None:
            return self._error(404, "not_found", "Task not found.")
        if task.advance() == "failed" and not task.refunded:
            self.credits += task.reserved_credits
            task.refunded = True
        return web.json_response(self._task_json(task))

    # ----------------------------------------------------------------- shapes and rules

    def _task_json(self, task: RivyaTask) -> dict[str, Any]:
        phase = task.phase
        url = self.media_url(task.id)
        payload: dict[str, Any] = {
            "id": task.id,
            "status": phase,
            "model": task.model,
            "reserved_credits": task.reserved_credits,
            "final_credits": task.reserved_credits if phase == "succeeded" else 0,
            "created_at": iso(task.created_at),
            "updated_at": iso(task.phase_changed_at),
            "result": {"primary_url": url, "urls": [url]} if phase == "succeeded" else None,
            "error": (
                {"code": "generation_failed", "message": task.fail_message}
                if phase == "failed"
                else None
            ),
        }
        if self.report_progress:
            payload["progress"] = task.progress
        return payload

    def _validate(self, body: dict[str, Any]) -> str | None:
        """The validation_failed message for a create body, or None when it is acceptable."""
        if "files" in body:
            return "A top-level files field is not accepted; use params.referenceMediaItems."
        extra = sorted(set(body) - _CREATE_FIELDS)
        if extra:
            return f"Unknown field(s): {', '.join(extra)}."
        entry = self._find_model(body.get("model"))
        if entry is None:
            return f"Unknown model {body.get('model')!r}."
        if entry.get("api_status") != "available":
            status = entry.get("api_status")
            return f"Model {entry['id']!r} is not available through the API ({status})."
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return "prompt is required."
        if len(prompt) > entry["max_prompt_length"]:
            return f"prompt is longer than {entry['max_prompt_length']} characters."
        trace = body.get("client_request_id")
        if trace is not None and (not isinstance(trace, str) or len(trace) > 128):
            return "client_request_id must be a string of at most 128 characters."
        params = body.get("params", {})
        if not isinstance(params, dict):
            return "params must be an object."
        return self._validate_params(entry, params)

    def _validate_params(self, entry: dict[str, Any], params: dict[str, Any]) -> str | None:
        specs = {spec["key"]: spec for spec in entry.get("params", [])}
        for key, spec in specs.items():
            if spec.get("required") and key not in params:
                return f"params.{key} is required."
        for key, value in params.items():
            if key == "referenceMediaItems" and entry.get("reference_media"):
                problem = self._validate_references(entry["reference_media"], value)
            elif key not in specs:
                problem = f"Unknown param {key!r} for model {entry['id']!r}."
            elif not isinstance(value, str):
                problem = f"params.{key} must be a string."
            elif specs[key].get("options") and value not in specs[key]["options"]:
                problem = f"params.{key} must be one of {', '.join(specs[key]['options'])}."
            else:
                problem = None
            if problem is not None:
                return problem
        return None

    def _validate_references(self, rules: dict[str, Any], items: object) -> str | None:
        if not isinstance(items, list):
            return "params.referenceMediaItems must be a list."
        if len(items) > rules["max_files"]:
            return f"At most {rules['max_files']} reference file(s) are accepted."
        for index, item in enumerate(items):
            where = f"params.referenceMediaItems[{index}]"
            if not isinstance(item, dict):
                return f"{where} must be an object."
            extra = sorted(set(item) - _REFERENCE_FIELDS)
            if extra:
                return f"{where} has unknown field(s): {', '.join(extra)}."
            upload = self._find_upload(item.get("url"))
            if upload is None:
                return f"{where}.url was not issued by /api/v1/files."
            if item.get("kind") not in rules["kinds"] or item.get("kind") != upload.kind:
                return f"{where}.kind must be {upload.kind!r}."
            if "mimeType" in item and item["mimeType"] != upload.mime_type:
                return f"{where}.mimeType does not match the uploaded file ({upload.mime_type})."
            if "name" in item and not isinstance(item["name"], str):
                return f"{where}.name must be a string."
        return None
