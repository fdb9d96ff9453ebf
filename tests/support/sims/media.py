"""Deterministic test media: stand-in MP4 payloads of any size and tiny valid images, plus
signature sniffing.

A stand-in video is a real one, as small as they come (one 16x16 MPEG-4 picture, under 1 KB),
padded to the size wanted with a `free` box (which players and FFmpeg skip) full of filler that
depends on a seed: it opens and decodes like any video, so the bot's checks take it for one,
and two tasks' videos are never the same bytes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import struct
import zlib
from collections.abc import Iterator
from fractions import Fraction

CHUNK_SIZE = 64 * 1024

# The well-known 1x1 lossless WebP used by browser feature detection.
_WEBP_1X1 = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


@functools.cache
def smallest_mp4() -> bytes:
    """A real MP4 holding one grey 16x16 picture (MPEG-4 part 2, no sound), under 1 KB."""
    import av  # here, so that importing the simulators stays light

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=1)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        frame = av.VideoFrame(16, 16, "yuv420p")
        for plane in frame.planes:  # a flat grey picture (a new frame's memory is not cleared)
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts, frame.time_base = 0, Fraction(1, 1)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def mp4_chunks(size: int, seed: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield a `size`-byte playable MP4 (`smallest_mp4`, then a `free` box) whose filler
    depends on `seed`. `size` must leave room for the video and the box's header."""
    video = smallest_mp4()
    if size < len(video) + 8:
        raise ValueError(f"a stand-in video takes at least {len(video) + 8} bytes (asked: {size})")
    header = video + struct.pack(">I4s", size - len(video), b"free")
    yield header
    remaining = size - len(header)
    block = hashlib.shake_256(seed.encode()).digest(chunk_size)
    while remaining > 0:
        part = block[:remaining]
        yield part
        remaining -= len(part)


def fake_mp4(size: int, seed: str) -> bytes:
    """The exact bytes `mp4_chunks(size, seed)` streams."""
    return b"".join(mp4_chunks(size, seed))


def png_bytes(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid truecolour PNG of one flat colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A valid 8x8 mid-grey baseline JPEG (one DC-only block, one-code Huffman tables)."""

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    one_code_table = bytes([1] + [0] * 15) + b"\x00"
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + b"\x01" * 64)
        + segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code_table)
        + segment(0xC4, b"\x10" + one_code_table)
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"
        + b"\xff\xd9"
    )


def webp_bytes() -> bytes:
    """A valid 1x1 lossless WebP."""
    return _WEBP_1X1


def sniff_mime(data: bytes) -> str | None:
    """MIME type from the file signature (what Rivya checks), or None when unrecognised."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return None
