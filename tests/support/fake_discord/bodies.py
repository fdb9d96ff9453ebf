"""Reads a REST request body: plain JSON, or multipart with ``payload_json`` and ``files[n]``."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from .records import UploadedFile


@dataclass
class RequestBody:
    json: Any = None
    files: list[UploadedFile] = field(default_factory=list)

    @property
    def total_upload_size(self) -> int:
        return sum(f.size for f in self.files)

    def file_for(self, index: int) -> UploadedFile | None:
        """The ``files[index]`` part, which an ``attachments`` entry with ``id: index`` names."""
        return next((f for f in self.files if f.field_name == f"files[{index}]"), None)


def guess_content_type(filename: str, declared: str | None) -> str:
    # discord.py labels every upload application/octet-stream; Discord derives the real type
    # from the file name, so do the same.
    guessed, _ = mimetypes.guess_type(filename)
    if guessed:
        return guessed
    return declared or "application/octet-stream"


async def read_body(request: web.Request) -> RequestBody:
    if request.content_type.startswith("multipart/"):
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return RequestBody()
    try:
        return RequestBody(json=json.loads(raw))
    except ValueError:
        return RequestBody(json=raw.decode("utf-8", "replace"))


async def _read_multipart(request: web.Request) -> RequestBody:
    body = RequestBody()
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read()
        if part.name == "payload_json":
            body.json = json.loads(data)
        elif part.filename is not None:
            declared = part.headers.get("Content-Type")
            body.files.append(
                UploadedFile(
                    field_name=part.name or "",
                    filename=part.filename,
                    content_type=guess_content_type(part.filename, declared),
                    data=bytes(data),
                )
            )
    return body
