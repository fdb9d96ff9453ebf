"""Rivya Public API v1 (https://rivya.ai/api/v1): files, generations, credits, model catalogue.

Creates carry an `Idempotency-Key` equal to the job's key, so retrying a create whose answer
was lost returns the same task instead of starting (and billing) a second one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

import aiohttp

from bot import metrics
from bot.providers.base import (
    GenerationRequest,
    JobRejectedError,
    ProviderHealth,
    ProviderMisconfiguredError,
    ProviderOutOfCreditsError,
    ReferenceImage,
    TaskStatus,
    TransientProviderError,
    VideoProvider,
)
from bot.providers.http import parse_retry_after, read_json
from bot.providers.profiles import (
    DOCUMENTED_IMAGE_MAX_BYTES,
    IMAGE_TYPES,
    ModelProfile,
    Toggle,
)

log = logging.getLogger(__name__)

# Codes of `_call` errors that mean the service never answered.
_NO_ANSWER = ("network", "timeout")
_STATUS_MAP = {"queued": "queued", "processing": "processing", "succeeded": "succeeded"}


class RivyaProvider(VideoProvider):
    name = "rivya"
    idempotent_create = True

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        profile: ModelProfile,
        poll_seconds: tuple[float, ...],
        timeout_seconds: float,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(profile, poll_seconds)
        self._base = base_url.rstrip("/") + "/api/v1"
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session = session or aiohttp.ClientSession(timeout=self._timeout)
        self._owns_session = session is None

    async def close(self) -> None:
        if self._owns_session:
            await self._session.close()

    # -- public calls -------------------------------------------------------------------------

    async def probe(self) -> ProviderHealth:
        key_ok: bool | None
        balance: float | None = None
        try:
            answer = await self._call("GET", "/credits", operation=metrics.CREDITS_CHECK)
            key_ok = True
            raw = answer.get("current_credits") if isinstance(answer, dict) else None
            balance = float(raw) if isinstance(raw, int | float) else None
            credits_note = f"{raw if balance is not None else '?'} credits left"
        except ProviderMisconfiguredError as error:
            key_ok, credits_note = False, error.user_message
        except (TransientProviderError, JobRejectedError) as error:
            key_ok, credits_note = None, f"credits check failed: {error.user_message}"

        try:
            entry = await self.catalogue_entry(self.profile.model)
        except (TransientProviderError, JobRejectedError) as error:
            no_answer = key_ok is None and error.code in _NO_ANSWER
            return ProviderHealth(
                key_ok,
                None,
                error.user_message
                if no_answer
                else f"{credits_note}; catalogue: {error.user_message}",
                credits=balance,
                unreachable=no_answer,
            )
        if entry is None:
            return ProviderHealth(
                key_ok,
                False,
                f"{credits_note}; model {self.profile.model!r} is not in the catalogue",
                credits=balance,
            )
        api_status = entry.get("api_status")
        cost = entry.get("base_credits")
        empty = balance is not None and isinstance(cost, int | float) and balance < cost
        return ProviderHealth(
            key_ok,
            api_status == "available",
            f"{credits_note}; model {self.profile.model!r} is {api_status}"
            + (f" and costs {cost} credits a video" if empty else ""),
            out_of_credits=empty,
            credits=balance,
        )

    async def catalogue_entry(self, model: str) -> dict[str, Any] | None:
        catalogue = await self._call(
            "GET", "/models", operation=metrics.CATALOGUE, authorised=False
        )
        return find_catalogue_entry(catalogue, model)

    async def prepare_reference(self, image: ReferenceImage, idempotency_key: str) -> str:
        form = aiohttp.FormData()
        data = await asyncio.to_thread(image.path.read_bytes)
        form.add_field("file", data, filename=image.filename, content_type=image.mime)
        form.add_field("kind", "image")
        form.add_field("model", self.profile.model)
        form.add_field("client_request_id", idempotency_key)
        uploaded = await self._call("POST", "/files", operation=metrics.UPLOAD, data=form)
        url = uploaded.get("url")
        if not isinstance(url, str) or not url:
            raise TransientProviderError("The provider's file upload answer had no URL.")
        return url

    async def create(self, request: GenerationRequest) -> str:
        params: dict[str, Any] = {
            **self.profile.fixed_params,
            "n_frames": str(request.duration),
            "aspect_ratio": request.orientation,
        }
        if request.quality:
            params["size"] = request.quality
        for toggle in self.profile.toggles:
            params[toggle.name] = "true" if request.toggles.get(toggle.name) else "false"
        if request.reference_url and request.image:
            params["referenceMediaItems"] = [
                {
                    "url": request.reference_url,
                    "kind": "image",
                    "name": request.image.filename,
                    "mimeType": request.image.mime,
                }
            ]
        body = {
            "model": request.model,
            "prompt": request.prompt,
            "client_request_id": request.idempotency_key,
            "params": params,
        }
        task = await self._call(
            "POST",
            "/generations",
            operation=metrics.CREATE,
            json_body=body,
            idempotency_key=request.idempotency_key,
        )
        task_id = task.get("id")
        if not isinstance(task_id, str) or not task_id:
            raise TransientProviderError("The provider's answer had no task id.")
        return task_id

    async def status(self, task_id: str) -> TaskStatus:
        task = await self._call("GET", f"/generations/{task_id}", operation=metrics.STATUS)
        raw_status = str(task.get("status", "")).lower()
        progress = _progress(task.get("progress"))
        if raw_status == "failed":
            error = task.get("error") or {}
            reason = error.get("message") if isinstance(error, dict) else str(error)
            return TaskStatus("failed", failure_reason=reason or "The provider gave no reason.")
        if raw_status == "succeeded":
            result = task.get("result") or {}
            url = result.get("primary_url") or next(iter(result.get("urls") or []), None)
            if not url:
                raise TransientProviderError("The provider reported success without a video URL.")
            return TaskStatus(
                "succeeded", progress=100, video_url=url, took_seconds=_took_seconds(task)
            )
        # Unknown spellings keep the job polling until its deadline.
        return TaskStatus(_STATUS_MAP.get(raw_status, "processing"), progress=progress)  # type: ignore[arg-type]

    # -- wire ---------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json_body: dict[str, Any] | None = None,
        data: aiohttp.FormData | None = None,
        idempotency_key: str | None = None,
        authorised: bool = True,
    ) -> Any:
        headers: dict[str, str] = dict(self._auth) if authorised else {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        payload = json.dumps(json_body, sort_keys=True) if json_body is not None else data
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        try:
            with metrics.provider_request(self.name, operation) as call:
                async with self._session.request(
                    method, self._base + path, headers=headers, data=payload, timeout=self._timeout
                ) as response:
                    call.answered(response.status)
                    body = await read_json(response)
                if 200 <= response.status < 300:
                    if body is None:
                        raise TransientProviderError(
                            "The video service sent an unreadable answer.", code="malformed"
                        )
                    return body
                raise _error_for(response.status, body, response.headers.get("Retry-After"))
        except TimeoutError as error:
            raise TransientProviderError("The video service timed out.", code="timeout") from error
        except aiohttp.ClientError as error:
            raise TransientProviderError(
                f"Could not reach the video service ({type(error).__name__}).", code="network"
            ) from None


async def fetch_catalogue(
    session: aiohttp.ClientSession, base_url: str, model: str, timeout_seconds: float
) -> dict[str, Any] | None:
    """The public catalogue entry for `model` (no key needed), or None if it is not listed."""
    reader = RivyaProvider(
        base_url=base_url,
        api_key="",
        profile=ModelProfile(provider="rivya", model=model, label=model, durations=()),
        poll_seconds=(1.0,),
        timeout_seconds=timeout_seconds,
        session=session,
    )
    return await reader.catalogue_entry(model)


def find_catalogue_entry(catalogue: Any, model: str) -> dict[str, Any] | None:
    """The catalogue entry for `model`; the list may be bare or under `data`/`models`."""
    entries = catalogue
    if isinstance(catalogue, dict):
        entries = catalogue.get("data", catalogue.get("models", []))
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            return entry
    return None


def _progress(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return max(0, min(100, round(number)))


def _took_seconds(task: dict[str, Any]) -> float | None:
    """A finished task's `updated_at - created_at` (both Rivya's clock), or None if unreadable."""
    try:
        created = datetime.fromisoformat(str(task["created_at"]))
        updated = datetime.fromisoformat(str(task["updated_at"]))
    except (KeyError, ValueError):
        return None
    seconds = (updated - created).total_seconds()
    return seconds if seconds > 0 else None


def _error_for(status: int, body: Any, retry_after_header: str | None) -> Exception:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    request_id = error.get("requestId") if isinstance(error, dict) else None
    log.warning("rivya answered %s %s (requestId=%s): %s", status, code, request_id, message)
    detail = message or f"HTTP {status}"

    if code == "rate_limited" or status == 429:
        return TransientProviderError(
            "The video service is busy (rate limited).",
            code="rate_limited",
            retry_after=parse_retry_after(retry_after_header),
        )
    if code == "insufficient_credits" or status == 402:
        return ProviderOutOfCreditsError(
            "The video service account is out of credits. The moderators have been told.",
            code="insufficient_credits",
        )
    if status in (401, 403) or (code or "").startswith("api_"):
        log.error(
            "rivya refused the API key (%s): check RIVYA_API_KEY and its scopes", code or status
        )
        return ProviderMisconfiguredError(
            "The video service is misconfigured on this server (API key refused). "
            "An operator has to fix it.",
            code=code or f"http_{status}",
        )
    if code == "idempotency_conflict" or status == 409:
        # The same key is in flight or was used; asking again later returns the task.
        return TransientProviderError("The request is still being processed.", code=code)
    if code == "not_found":
        return JobRejectedError("The provider no longer knows this task.", code="not_found")
    if status == 404:
        # Not Rivya's own answer (an HTML page from a proxy, a wrong route): the task may still
        # finish and be billed, so ask again, like any unreadable answer, until the deadline.
        return TransientProviderError(
            "The video service sent an unreadable answer (HTTP 404).", code="http_404"
        )
    if code == "validation_failed" or status in (400, 413, 415, 422):
        return JobRejectedError(f"The provider rejected the request: {detail}", code=code)
    if status >= 500:
        return TransientProviderError(
            "The video service is temporarily unavailable.", code=code or f"http_{status}"
        )
    return JobRejectedError(f"The provider refused the request: {detail}", code=code)


def profile_from_catalogue(entry: dict[str, Any]) -> ModelProfile:
    """Build a profile for a catalogue model that has no built-in profile."""
    params = {
        str(p.get("key") or p.get("name")): p
        for p in _params_list(entry.get("params"))
        if p.get("key") or p.get("name")
    }

    def options(key: str) -> tuple[str, ...]:
        raw = params.get(key, {}).get("options") or []
        return tuple(str(o.get("value", o) if isinstance(o, dict) else o) for o in raw)

    durations = tuple(int(float(d)) for d in options("n_frames") if _is_number(d)) or (10,)
    qualities = options("size")
    size_default = params.get("size", {}).get("default")
    reference = entry.get("reference_media") or {}
    max_images = int(reference.get("max_files", reference.get("max_images", 1)) or 0)
    image_max_bytes = catalogue_image_limit(entry) or DOCUMENTED_IMAGE_MAX_BYTES
    toggles = tuple(
        Toggle(key, f"{params[key].get('label') or key} (default: no)", False)
        for key in params
        if set(options(key)) == {"true", "false"}
    )
    # Params the bot has no option for are sent with their catalogue default.
    handled = {"size", "n_frames", "aspect_ratio", *(t.name for t in toggles)}
    fixed = {
        key: str(param["default"])
        for key, param in params.items()
        if key not in handled and param.get("default") is not None
    }
    return ModelProfile(
        provider="rivya",
        model=str(entry["id"]),
        label=str(entry.get("display_name") or entry["id"]),
        durations=durations,
        orientations=options("aspect_ratio") or ("landscape", "portrait"),
        qualities=qualities,
        quality_labels={q: q.capitalize() for q in qualities},
        default_quality=str(size_default)
        if size_default
        else (qualities[0] if qualities else None),
        prompt_limit=int(entry.get("max_prompt_length") or 10_000),
        max_images=max_images,
        image_max_bytes=image_max_bytes,
        image_types=IMAGE_TYPES,
        toggles=toggles,
        fixed_params=fixed,
        credits_per_video=catalogue_price(entry),
    )


def catalogue_price(entry: dict[str, Any]) -> float | None:
    """`base_credits`: what one video of the model costs, when the catalogue says."""
    value = entry.get("base_credits")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def catalogue_image_limit(entry: dict[str, Any]) -> int | None:
    """The largest reference image the catalogue entry states, in bytes, or None when it states
    none in a shape we know (`reference_media.limits.image.max_bytes`, or a flat `max_bytes`)."""
    reference = entry.get("reference_media")
    if not isinstance(reference, dict):
        return None
    limits = reference.get("limits")
    image = limits.get("image") if isinstance(limits, dict) else None
    for value in (
        image.get("max_bytes") if isinstance(image, dict) else None,
        reference.get("max_bytes"),
    ):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def with_catalogue_limits(profile: ModelProfile, entry: dict[str, Any] | None) -> ModelProfile:
    """`profile` with the image limit and price its catalogue entry states, if it states them."""
    if entry is None:
        return profile
    limit = catalogue_image_limit(entry)
    if limit is not None and limit != profile.image_max_bytes:
        profile = replace(profile, image_max_bytes=limit)
    price = catalogue_price(entry)
    if price is not None and price != profile.credits_per_video:
        profile = replace(profile, credits_per_video=price)
    return profile


def _params_list(params: Any) -> list[dict[str, Any]]:
    if isinstance(params, list):
        return [p for p in params if isinstance(p, dict)]
    if isinstance(params, dict):
        return [{"key": k, **v} for k, v in params.items() if isinstance(v, dict)]
    return []


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
