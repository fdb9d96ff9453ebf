"""The REST layer: every /api/v10 request is recorded, may hit an injected fault, is
authenticated, routed, and answered with ``Content-Type: application/json`` exactly."""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors
from .bodies import RequestBody, read_body
from .errors import ApiError
from .records import ErrorRecord, RequestRecord

if TYPE_CHECKING:
    from .server import FakeDiscord

API_PREFIX = "/api/v10"


@dataclass
class Call:
    """What a route handler sees."""

    request: web.Request
    params: dict[str, str]
    body: RequestBody
    record: RequestRecord

    @property
    def json(self) -> dict[str, Any]:
        return self.body.json if isinstance(self.body.json, dict) else {}

    def query_int(self, name: str) -> int | None:
        value = self.request.query.get(name)
        return None if value in (None, "") else int(value)

    def query_flag(self, name: str) -> bool:
        return self.request.query.get(name, "").lower() in ("1", "true")


@dataclass
class Reply:
    data: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Reply]]


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> web.Response:
    if status == 204:
        # discord.py JSON-decodes any body labelled application/json, and "" is not JSON.
        return web.Response(status=204, headers=headers)
    # Exactly "application/json": with "; charset=..." discord.py would not parse the body.
    all_headers = {"Content-Type": "application/json"} | (headers or {})
    return web.Response(status=status, body=json.dumps(data).encode(), headers=all_headers)


class ApiRouter:
    def __init__(self, app: web.Application, sim: FakeDiscord) -> None:
        self._app = app
        self._sim = sim

    def add(self, method: str, path: str, handler: Handler, *, auth: bool = True) -> None:
        """``auth``: the route needs ``Authorization: Bot <token>``; interaction callbacks and
        webhook routes are authorised by the token in their path instead."""
        self._app.router.add_route(method, API_PREFIX + path, self._wrap(path, handler, auth))

    def add_fallback(self) -> None:
        async def unknown(call: Call) -> Reply:
            raise errors.route_not_found()

        self._app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._wrap(None, unknown, False))

    def _wrap(self, route: str | None, handler: Handler, auth: bool) -> Any:
        sim = self._sim

        async def serve(request: web.Request) -> web.Response:
            body = await read_body(request)
            record = RequestRecord(
                method=request.method,
                path=request.path[len(API_PREFIX) :],
                query=dict(request.query),
                headers=dict(request.headers),
                json=body.json,
                files=body.files,
                route=route,
                at=asyncio.get_running_loop().time(),
            )
            sim.requests.append(record)
            headers: dict[str, str] = {}
            fault = None
            try:
                fault = sim.faults.take(record)
                if fault is not None and not fault.lose_answer:
                    record.injected = True
                    status, data, headers = fault.status, fault.body, fault.response_headers()
                else:
                    if auth and request.headers.get("Authorization") != f"Bot {sim.token}":
                        raise errors.unauthorized()
                    reply = await handler(Call(request, dict(request.match_info), body, record))
                    status, data, headers = reply.status, reply.data, reply.headers
            except ApiError as exc:
                status, data = exc.status, exc.body()
            except Exception:
                # A simulator bug. 503 makes discord.py fail at once (it retries 500s for ~25 s);
                # the traceback is kept for the test to report.
                sim.internal_errors.append(traceback.format_exc())
                status, data = (
                    503,
                    {"message": "simulator error, see sim.internal_errors", "code": 0},
                )
            record.status, record.response = status, data
            if status >= 400:
                code = data.get("code") if isinstance(data, dict) else None
                message = str(data.get("message", "")) if isinstance(data, dict) else ""
                sim.errors.append(ErrorRecord(record, status, code, message))
            await sim.notifier.changed()
            if fault is not None and fault.lose_answer and request.transport is not None:
                record.injected = True
                request.transport.abort()  # done, but the answer is lost on the way
            return json_response(status, data, headers)

        return serve
