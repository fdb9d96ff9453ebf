"""What a file really is, judged by its bytes, never its name or the server's word: reference
images (JPEG, PNG, WebP) and finished videos (MP4/MOV, WebM/Matroska); and sizes in words."""

from __future__ import annotations

import struct
from dataclasses import dataclass

IMAGE_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def sniff_image_type(head: bytes) -> str | None:
    """Return the MIME type of a JPEG, PNG or WebP image from its first bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class VideoType:
    """A container the bot accepts a finished video in, as FFmpeg names it."""

    name: str  # the demuxer's short name, given to FFmpeg instead of letting it guess
    demuxers: str  # FFmpeg's full demuxer name(s): the only ones allowed to read the file
    extension: str  # for the file's name when it is kept or posted
    label: str  # for the log
    mime: str  # the Content-Type it is served with


ISO_MEDIA = VideoType("mp4", "mov,mp4,m4a,3gp,3g2,mj2", "mp4", "MP4/MOV", "video/mp4")
WEBM = VideoType("webm", "matroska,webm", "webm", "WebM", "video/webm")
MATROSKA = VideoType("matroska", "matroska,webm", "mkv", "Matroska", "video/x-matroska")
VIDEO_TYPES = {kind.name: kind for kind in (ISO_MEDIA, WEBM, MATROSKA)}
# Enough of a file's start to judge it: the `ftyp` box or the EBML header comes first.
VIDEO_HEAD_BYTES = 4096

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOC_TYPE = 0x4282
# An `ftyp` box: size, type, major brand, minor version, then whole compatible brands.
_FTYP_SMALLEST = 16
_FTYP_LARGEST = 1024


def sniff_video_type(head: bytes) -> VideoType | None:
    """The container a file's first bytes (up to `VIDEO_HEAD_BYTES`) show, else None.

    MP4/MOV (ISO base media) must open with its `ftyp` box, WebM/Matroska with its EBML
    header naming the document type. A playlist, a concat script, an HTML page, a ZIP or
    random bytes are none of these, whatever the server said the type was."""
    if _is_ftyp_box(head):
        return ISO_MEDIA
    if head.startswith(_EBML_MAGIC):
        doc_type = _ebml_doc_type(head)
        if doc_type == "webm":
            return WEBM
        if doc_type == "matroska":
            return MATROSKA
    return None


def _is_ftyp_box(head: bytes) -> bool:
    if len(head) < 8 or head[4:8] != b"ftyp":
        return False
    (size,) = struct.unpack(">I", head[:4])
    if not _FTYP_SMALLEST <= size <= _FTYP_LARGEST or size % 4 or len(head) < size:
        return False
    brands = head[8:12] + head[16:size]  # the minor version (8 to 16) is a number
    return all(0x20 <= byte <= 0x7E for byte in brands)


def _ebml_doc_type(head: bytes) -> str | None:
    """The DocType element of the EBML header at the start of `head`, if it is whole there."""
    size = _vint(head, len(_EBML_MAGIC))
    if size is None:
        return None
    length, position = size
    end = min(position + length, len(head))
    while position < end:
        element = _vint(head, position, keep_marker=True)
        if element is None:
            return None
        element_id, position = element
        size = _vint(head, position)
        if size is None:
            return None
        length, position = size
        if position + length > end:
            return None
        if element_id == _EBML_DOC_TYPE:
            return head[position : position + length].rstrip(b"\x00").decode("ascii", "replace")
        position += length
    return None


def _vint(data: bytes, position: int, *, keep_marker: bool = False) -> tuple[int, int] | None:
    """An EBML variable-length integer at `position`: its value and the position after it."""
    if position >= len(data) or data[position] == 0:
        return None
    first = data[position]
    length = 9 - first.bit_length()  # the leading zeros say how many bytes follow
    if position + length > len(data):
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for byte in data[position + 1 : position + length]:
        value = value << 8 | byte
    return value, position + length


# Decimal units, as providers state their limits ("10 MB" is 10,000,000 bytes).
_UNITS = ((1_000_000, "MB", 6), (1_000, "KB", 3), (1, "bytes", 0))


def describe_size(size: int, compared_to: int | None = None) -> str:
    """A size in decimal units, exactly (10 MB, 10.48576 MB, 512 KB). With `compared_to` (a
    limit, itself shown exactly), rounded to the fewest digits that still read as larger or
    smaller than it: "10.5 MB" against 10 MB, never "10 MB; the limit is 10 MB"."""
    unit, name, most = next((u for u in _UNITS if size >= u[0]), _UNITS[-1])
    for digits in range(1 if unit > 1 else 0, most + 1):
        scale = 10**digits
        shown = round(size * scale / unit) * unit  # the shown size, times `scale`, in bytes
        exact = shown == size * scale
        other = None if compared_to is None else compared_to * scale
        if exact or (other is not None and (shown - other) * (size * scale - other) > 0):
            return f"{_in_unit(size, unit, digits)} {name}"
    return f"{_in_unit(size, unit, most)} {name}"


def _in_unit(size: int, unit: int, digits: int) -> str:
    text = f"{size / unit:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
