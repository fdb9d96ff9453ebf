"""Machinery shared by the provider simulators.

A simulator is an aiohttp server on 127.0.0.1 (or another loopback address given as `host`;
random free port) that records every request,
answers per the provider's contract, and lets a test inject faults per endpoint. Tasks advance by
status polls, never by wall time, so tests are deterministic and fast.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict, MultiDict

from . import media

T = TypeVar("T")

#: Modes every simulator understands. Error modes are rendered in the provider's own envelope.
COMMON_MODES = frozenset(
    {
        "validation_failed",  # 400
        "insufficient_credits",  # out of money/quota
        "rate_limited",  # 429, with Retry-After only when retry_after is given
        "server_error",  # 500 by default; status=502/503 for the others
        "not_found",  # 404
        "error",  # any status/code: inject(ep, "error", status=403, code="api_scope_denied")
        "slow",  # wait `delay` seconds, then answer normally
        "timeout",  # hang (until hang_seconds or shutdown), then drop the connection
        "drop",  # close the connection without any response
        "malformed_json",  # 200 (or status), Content-Type application/json, truncated body
        "html",  # an HTML page: 200 gateway/SPA page by default, nginx error page for status>=400
        "wrong_content_type",  # the normal body, served as text/html
        "truncated",  # media only: full Content-Length announced, half the body sent, then drop
    }
)
_DELAY_MODES = frozenset({"slow", "timeout"})
_PASSTHROUGH_MODES = frozenset({"wrong_content_type", "truncated"})


@dataclass
class FormPart:
    """One multipart/form-data field as received."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


@dataclass
class Fault:
    """An injected misbehaviour for one endpoint; see `SimServer.inject`."""

    endpoint: str
    mode: str
    times: int | None = 1
    after: bool = False
    status: int | None = None
    retry_after: float | str | None = None
    delay: float = 0.0
    message: str | None = None
    code: str | None = None
    match: Callable[[RecordedRequest], bool] | None = None
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclass
class RecordedRequest:
    """Everything the simulator received for one request, and how it answered."""

    endpoint: str
    method: str
    path: str
    query: MultiDict[str]
    raw_query: str
    headers: CIMultiDict[str]
    match_info: dict[str, str]
    body: bytes = b""
    json: Any = None
    form: dict[str, FormPart] = field(default_factory=dict)
    fault: Fault | None = None
    status: int | None = None  # None while in flight, or when hung/dropped
    dropped: bool = False
    received_at: float = field(default_factory=time.monotonic)

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")


@dataclass
class SimTask:
    """A generation task whose status advances with each successful status poll.

    Phase is queued until `polls_until_processing` polls, processing until `polls_until_done`
    polls, then `outcome`. With `ready_at` set (wall time, for benchmarks) it finishes at that
    moment instead, whatever the polls. Every knob is a plain attribute tests may change.
    """

    id: str
    polls_until_processing: int
    polls_until_done: int
    outcome: str = "succeeded"  # or "failed"
    fail_message: str = "The generation failed."
    media_size: int | None = None  # None: the simulator's media_size when downloaded
    media_data: bytes | None = None  # a real video to serve instead of fake bytes
    media_expired: bool = False  # media URL answers 404, as an expired link would
    media_redirect: str | None = None  # media URL answers 302 to this address instead
    polls: int = 0
    created_at: float = field(default_factory=time.time)
    phase_changed_at: float = field(default_factory=time.time)
    ready_at: float | None = None  # finish at this wall time instead of after N polls
    finish_seen_at: float | None = None  # wall time of the first poll answered with the outcome

    @property
    def phase(self) -> str:
        if self.ready_at is not None:
            if time.time() >= self.ready_at:
                return self.outcome
            return "processing" if self.polls >= self.polls_until_processing else "queued"
        if self.polls >= self.polls_until_done:
            return self.outcome
        if self.polls >= self.polls_until_processing:
            return "processing"
        return "queued"

    @property
    def progress(self) -> int:
        """0-100: 0 while queued, rising while processing, 100 when finished."""
        if self.phase == "queued":
            return 0
        if self.phase != "processing":
            return 100
        span = max(1, self.polls_until_done - self.polls_until_processing)
        return min(99, 100 * (self.polls - self.polls_until_processing + 1) // (span + 1))

    def advance(self) -> str:
        """Count one status poll; return the new phase."""
        before = self.phase
        self.polls += 1
        after = self.phase
        if after != before:
            self.phase_changed_at = time.time()
        if after == self.outcome and self.finish_seen_at is None:
            self.finish_seen_at = time.time()
            if self.ready_at is not None:  # it finished then, between two polls
                self.phase_changed_at = self.ready_at
        return after


TaskT = TypeVar("TaskT", bound=SimTask)
Handler = Callable[[web.Request, RecordedRequest], Awaitable[web.StreamResponse]]


def html_page(status: int) -> str:
    """A gateway's SPA shell for 200, an nginx-style error page otherwise."""
    if status < 400:
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<title>API Gateway</title></head><body><div id="root"></div>'
            '<script src="/assets/index.js"></script></body></html>'
        )
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return (
        f"<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}"
        "</h1></center><hr><center>nginx</center></body></html>"
    )


class SimServer(ABC, Generic[TaskT]):
    """Server lifecycle, recording, fault injection, waiting and media serving.

    Subclasses define ENDPOINTS, TASK_CLASS, ERROR_MODES (mode -> (status, code, message)),
    `_routes()` and `_error()` (the provider's error envelope).
    """

    ENDPOINTS: ClassVar[frozenset[str]] = frozenset()
    TASK_CLASS: ClassVar[type[SimTask]] = SimTask
    ERROR_MODES: ClassVar[dict[str, tuple[int, str, str]]] = {}
    EXTRA_MODES: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        *,
        media_size: int = 300_000,
        polls_until_processing: int = 1,
        polls_until_done: int = 3,
        hang_seconds: float = 3600.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.base_url = ""
        #: The address the simulator listens on (any 127.x.y.z works on Linux).
        self.host = host
        #: Default size in bytes of a result video (per task: task.media_size).
        self.media_size = media_size
        #: Status polls before a new task shows processing (copied into each new task).
        self.polls_until_processing = polls_until_processing
        #: Status polls before a new task is finished (copied into each new task).
        self.polls_until_done = polls_until_done
        #: How long "timeout" faults hang; shutdown always ends them at once.
        self.hang_seconds = hang_seconds
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.tasks: dict[str, TaskT] = {}
        self._outcome_queue: list[dict[str, Any]] = []
        self._secret = secrets.token_hex(8)
        self._closing = asyncio.Event()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for method, path, endpoint, handler in self._routes():
            app.router.add_route(method, path, self._wrap(endpoint, handler))
        app.router.add_route("*", "/{tail:.*}", self._wrap("unknown", self._unknown_path))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{port}"
        return self

    async def close(self) -> None:
        """Stop at once: hung and slow requests are released and their connections dropped."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this simulator."""
        return self.base_url + path

    # ----------------------------------------------------------------- injection

    def inject(
        self,
        endpoint: str,
        mode: str,
        *,
        times: int | None = 1,
        after: bool = False,
        status: int | None = None,
        retry_after: float | str | None = None,
        delay: float = 0.0,
        message: str | None = None,
        code: str | None = None,
        match: Callable[[RecordedRequest], bool] | None = None,
    ) -> Fault:
        """Make the next `times` requests to `endpoint` (None: all of them) misbehave.

        after=False: the fault answers instead of the endpoint; nothing happens server-side
        (no task, no charge, no poll counted). after=True: the endpoint runs first (task created
        and billed, poll counted), then the fault replaces the answer: use it for "the work was
        done but the answer was lost" (timeout, drop, 5xx). `status`, `code` and `message`
        override the mode's defaults; `retry_after` adds a Retry-After header; `delay` is for
        "slow"; `match` limits the fault to matching requests. Faults apply in injection order.
        """
        if endpoint not in self.ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {sorted(self.ENDPOINTS)}")
        if mode not in self.fault_modes():
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(self.fault_modes())}")
        fault = Fault(
            endpoint, mode, times, after, status, retry_after, delay, message, code, match
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    @classmethod
    def fault_modes(cls) -> frozenset[str]:
        return COMMON_MODES | cls.EXTRA_MODES | frozenset(cls.ERROR_MODES)

    # ----------------------------------------------------------------- inspection

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """Recorded requests to one endpoint, oldest first."""
        return [r for r in self.requests if r.endpoint == endpoint]

    @property
    def created_tasks(self) -> list[TaskT]:
        """Tasks in creation order."""
        return list(self.tasks.values())

    def polls(self, task_id: str) -> int:
        """Status polls the task has counted (faulted polls do not count, unless after=True)."""
        return self.tasks[task_id].polls

    def next_task(self, **overrides: Any) -> None:
        """Queue attribute overrides for the next created task (each call: one task).

        e.g. `sim.next_task(media_size=60_000_000, polls_until_done=10)`, or
        `sim.next_task(media_data=path.read_bytes())` to serve a real video.
        """
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self.TASK_CLASS)}
        if unknown:
            raise TypeError(f"{self.TASK_CLASS.__name__} has no field(s) {sorted(unknown)}")
        self._outcome_queue.append(overrides)

    def media_url(self, task_id: str) -> str:
        """The signed result URL of a task (served by this simulator)."""
        return self.url(f"/media/{quote(task_id, safe='')}.mp4?sig={self._sign(task_id)}")

    def media_bytes(self, task_id: str) -> bytes:
        """The exact bytes a download of the task's video returns."""
        task = self.tasks[task_id]
        if task.media_data is not None:
            return task.media_data
        return media.fake_mp4(self._media_size(task), task_id)

    def expire_media(self, task_id: str) -> None:
        """Make the task's result URL answer 404 from now on."""
        self.tasks[task_id].media_expired = True

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,
    ) -> T:
        """Wait until predicate() is truthy and return its value.

        Re-checked whenever a request arrives or finishes; raises TimeoutError after `timeout`.
        """
        try:
            async with asyncio.timeout(timeout), self._changed:
                return await self._changed.wait_for(predicate)
        except TimeoutError:
            raise TimeoutError(f"{type(self).__name__}: condition not met in {timeout}s") from None

    async def wait_for_requests(
        self,
        endpoint: str,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Wait until `endpoint` has received at least `count` requests; return them all."""
        await self.wait_for(lambda: len(self.requests_to(endpoint)) >= count, timeout)
        return self.requests_to(endpoint)

    # ----------------------------------------------------------------- subclass hooks

    @abstractmethod
    def _routes(self) -> list[tuple[str, str, str, Handler]]:
        """(endpoint name, method, path, handler) for each route of the simulated API."""

    @abstractmethod
    def _error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        """An error answer in the simulated API's own envelope."""

    def _admit(self, rec: RecordedRequest) -> web.Response | None:
        """Called once a request will be processed (after before-faults); may refuse it."""
        return None

    def _release(self, rec: RecordedRequest) -> None:
        """Called when processing of an admitted request ends."""

    async def _unknown_path(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        return web.Response(status=404, text=html_page(404), content_type="text/html")

    def _fault_response(self, fault: Fault) -> web.Response:
        """The answer of an error-type fault."""
        if fault.mode == "malformed_json":
            body = b'{"id": "task_0001", "status": "queu'
            return web.Response(
                status=fault.status or 200, body=body, content_type="application/json"
            )
        if fault.mode == "html":
            status = fault.status or 200
            return web.Response(status=status, text=html_page(status), content_type="text/html")
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        status, code, message = self.ERROR_MODES.get(fault.mode, self.ERROR_MODES["error"])
        return self._error(
            fault.status or status, fault.code or code, fault.message or message, headers
        )

    # ----------------------------------------------------------------- tasks

    def _register_task(self, task: TaskT) -> TaskT:
        """Apply the next queued overrides (see next_task) and store the task."""
        if self._outcome_queue:
            for key, value in self._outcome_queue.pop(0).items():
                setattr(task, key, value)
        self.tasks[task.id] = task
        return task

    def _media_size(self, task: SimTask) -> int:
        if task.media_data is not None:
            return len(task.media_data)
        return self.media_size if task.media_size is None else task.media_size

    def _media_chunks(self, task: SimTask) -> Iterator[bytes]:
        if task.media_data is None:
            return media.mp4_chunks(self._media_size(task), task.id)
        data = task.media_data
        return (data[i : i + media.CHUNK_SIZE] for i in range(0, len(data), media.CHUNK_SIZE))

    def _sign(self, task_id: str) -> str:
        return hashlib.sha256(f"{self._secret}:{task_id}".encode()).hexdigest()[:20]

    async def _serve_media(self, request: web.Request, rec: RecordedRequest) -> web.StreamResponse:
        """Stream a finished task's video; 403 on a bad signature, 404 when unknown or expired."""
        task = self.tasks.get(request.match_info["task_id"])
        if task is None or task.phase != "succeeded" or task.media_expired:
            return web.Response(status=404, text="Not Found")
        if request.query.get("sig") != self._sign(task.id):
            return web.Response(status=403, text="Forbidden: bad or missing signature")
        if task.media_redirect is not None:
            return web.Response(status=302, headers={"Location": task.media_redirect})
        size = self._media_size(task)
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.content_length = size
        await response.prepare(request)
        limit = size // 2 if rec.fault is not None and rec.fault.mode == "truncated" else size
        sent = 0
        for chunk in self._media_chunks(task):
            if sent >= limit:
                break
            await response.write(chunk[: limit - sent])
            sent += len(chunk)
        if limit < size:
            self._drop(request, rec)
            return response
        await response.write_eof()
        return response

    # ----------------------------------------------------------------- dispatch

    def _wrap(self, endpoint: str, handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        async def dispatch(request: web.Request) -> web.StreamResponse:
            rec = await self._record(request, endpoint)
            try:
                response = await self._respond(request, rec, handler)
                if not rec.dropped:
                    rec.status = response.status
                return response
            finally:
                await self._notify()

        return dispatch

    async def _respond(
        self, request: web.Request, rec: RecordedRequest, handler: Handler
    ) -> web.StreamResponse:
        fault = rec.fault = self._take_fault(rec)
        before = fault if fault is not None and not fault.after else None
        if before is not None and before.mode not in _DELAY_MODES:
            replacement = await self._apply(request, rec, before)
            if replacement is not None:
                return replacement
        refusal = self._admit(rec)
        if refusal is not None:
            return refusal
        try:
            if before is not None and before.mode in _DELAY_MODES:
                replacement = await self._apply(request, rec, before)
                if replacement is not None:
                    return replacement
            response = await handler(request, rec)
        finally:
            self._release(rec)
        if fault is not None and fault.after:
            replacement = await self._apply(request, rec, fault)
            if replacement is not None:
                return replacement
        if (
            fault is not None
            and fault.mode == "wrong_content_type"
            and isinstance(response, web.Response)
        ):
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
            return web.Response(
                status=response.status,
                body=response.body,
                headers=headers,
                content_type="text/html",
            )
        return response

    async def _apply(
        self, request: web.Request, rec: RecordedRequest, fault: Fault
    ) -> web.StreamResponse | None:
        """The fault's replacement answer, or None to go on answering normally."""
        if fault.mode in _PASSTHROUGH_MODES:
            return None
        if fault.mode == "drop":
            return self._drop(request, rec)
        if fault.mode in _DELAY_MODES:
            wait = fault.delay if fault.mode == "slow" else self.hang_seconds
            if await self._sleep(wait) and fault.mode == "slow":
                return None
            return self._drop(request, rec)
        return self._fault_response(fault)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep; False if the server started closing meanwhile."""
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            return True
        return False

    def _drop(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        rec.dropped = True
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=499)

    def _take_fault(self, rec: RecordedRequest) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint != rec.endpoint or fault.exhausted:
                continue
            if fault.match is None or fault.match(rec):
                fault.hits += 1
                return fault
        return None

    async def _record(self, request: web.Request, endpoint: str) -> RecordedRequest:
        rec = RecordedRequest(
            endpoint=endpoint,
            method=request.method,
            path=request.path,
            query=MultiDict(request.query),
            raw_query=request.rel_url.raw_query_string,
            headers=CIMultiDict(request.headers),
            match_info=dict(request.match_info),
        )
        if request.content_type == "multipart/form-data":
            rec.form = await _read_form(request)
        else:
            rec.body = await request.read()
            if rec.body:
                try:
                    rec.json = json.loads(rec.body)
                except ValueError:
                    rec.json = None
        self.requests.append(rec)
        await self._notify()
        return rec

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


async def _read_form(request: web.Request) -> dict[str, FormPart]:
    try:
        fields = await request.post()
    except ValueError:
        return {}
    form: dict[str, FormPart] = {}
    for name, value in fields.items():
        if isinstance(value, web.FileField):
            form[name] = FormPart(name, value.file.read(), value.filename, value.content_type)
        elif isinstance(value, str):
            form[name] = FormPart(name, value.encode())
        else:
            form[name] = FormPart(name, bytes(value))
    return form


def now_ms(timestamp: float | None = None) -> int:
    """Epoch milliseconds."""
    return int((time.time() if timestamp is None else timestamp) * 1000)
