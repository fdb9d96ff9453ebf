"""Deterministic test media: fake MP4 payloads and tiny valid images, plus signature sniffing."""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from collections.abc import Iterator

CHUNK_SIZE = 64 * 1024

# ftyp box (32 bytes): major brand isom, minor version 0x200, four compatible brands.
_FTYP = struct.pack(">I4s4sI", 32, b"ftyp", b"isom", 0x200) + b"isomiso2avc1mp41"

# The well-known 1x1 lossless WebP used by browser feature detection.
_WEBP_1X1 = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


def mp4_chunks(size: int, seed: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield a `size`-byte fake MP4 (ftyp box, then one mdat box) whose filler depends on `seed`."""
    header = (_FTYP + struct.pack(">I4s", max(size - len(_FTYP), 8), b"mdat"))[:size]
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
