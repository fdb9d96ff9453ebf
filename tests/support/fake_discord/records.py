"""What the simulator remembers about traffic: requests, uploaded files and error answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    field_name: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RequestRecord:
    """One REST request as the simulator received it, and how it answered."""

    method: str
    path: str  # relative to /api/v10, e.g. "/channels/123/messages"
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None  # the JSON body, or the multipart ``payload_json``
    files: list[UploadedFile] = field(default_factory=list)
    route: str | None = None  # the matched template, None when no route matched
    at: float = 0.0  # event-loop time of arrival
    status: int = 0
    response: Any = None
    injected: bool = False  # answered by an injected fault, not by the route

    @property
    def multipart(self) -> bool:
        return bool(self.files)

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass(frozen=True)
class ErrorRecord:
    """A non-2xx answer the simulator sent (injected or not)."""

    request: RequestRecord
    status: int
    code: int | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.request.method} {self.request.path}: {self.status} {self.code} {self.message}"
        )
