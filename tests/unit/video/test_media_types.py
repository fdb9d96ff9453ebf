"""A finished video is judged by its first bytes: only an MP4/MOV opening with its `ftyp` box or
a WebM/Matroska opening with its EBML header is taken for one."""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path

import pytest

from bot.video.media_types import (
    ISO_MEDIA,
    MATROSKA,
    VIDEO_HEAD_BYTES,
    WEBM,
    VideoType,
    sniff_video_type,
)
from tests.support.sims.core import html_page
from tests.support.videos import VideoSpec, write_video


def head_of(path: Path) -> bytes:
    return path.read_bytes()[:VIDEO_HEAD_BYTES]


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + struct.pack(">I", 0x200) + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body


@pytest.mark.parametrize(
    ("container", "expected"), [("mp4", ISO_MEDIA), ("webm", WEBM), ("matroska", MATROSKA)]
)
def test_real_videos_are_known_by_their_container(
    tmp_path: Path, container: str, expected: VideoType
) -> None:
    path = write_video(tmp_path / f"clip.{container}", VideoSpec(seconds=0.5, container=container))
    assert sniff_video_type(head_of(path)) == expected


def test_a_quicktime_movie_with_its_ftyp_box_is_iso_media() -> None:
    head = ftyp(b"qt  ", b"qt  ") + struct.pack(">I4s", 8, b"wide")
    assert sniff_video_type(head) == ISO_MEDIA


CONCAT_SCRIPT = b"ffconcat version 1.0\nfile job-1.mp4\n" + b"#" * 2000
NOT_VIDEOS = {
    "concat script": CONCAT_SCRIPT,
    "HLS playlist": b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:10,\nfile:///etc/passwd\n",
    "HTML page": html_page(200).encode(),
    "nginx error": html_page(502).encode(),
    "random bytes": random.Random(3).randbytes(VIDEO_HEAD_BYTES),
    "empty": b"",
    # A MOV whose first box is not `ftyp` (old QuickTime): not accepted.
    "movie without ftyp": struct.pack(">I4s", 8, b"wide") + struct.pack(">I4s", 16, b"mdat"),
    # `ftyp` in the right place, but the box says it is 1.6 GB (text: "abcd").
    "text with ftyp": b"abcdftypmp42" + b"\x00" * 100,
    "ftyp too small": struct.pack(">I4s", 8, b"ftyp"),
    "brand not text": struct.pack(">I4s", 16, b"ftyp") + b"\x00\x01\x02\x03" + b"\x00" * 4,
    "ftyp cut short": ftyp(b"isom", b"isom", b"mp41")[:20],
    # The EBML magic with a document type that is not a video (or no type at all).
    "EBML other type": b"\x1a\x45\xdf\xa3\x87\x42\x82\x84xmlz",
    "EBML no type": b"\x1a\x45\xdf\xa3\x84\x42\x86\x81\x01",
    "EBML cut short": b"\x1a\x45\xdf\xa3\x93\x42\x82",
    "EBML zero size byte": b"\x1a\x45\xdf\xa3\x00",
}


@pytest.mark.parametrize("data", NOT_VIDEOS.values(), ids=list(NOT_VIDEOS))
def test_anything_else_is_not_a_video(data: bytes) -> None:
    assert sniff_video_type(data) is None


def test_a_zip_archive_is_not_a_video() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("job-1.mp4", b"\x00" * 100)
    assert sniff_video_type(buffer.getvalue()) is None


def test_an_html_page_after_a_valid_looking_size_is_not_a_video() -> None:
    # Four bytes of a plausible box size, then an HTML page: the type is not `ftyp`.
    assert sniff_video_type(struct.pack(">I", 32) + html_page(200).encode()) is None
