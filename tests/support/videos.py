"""Real, playable test videos built in code with PyAV (no binary fixtures).

A slowly panning blotchy texture (so the encoder has real detail and motion to spend bits on)
and, when asked, a stereo sine tone. Small clips keep the suite fast; the benchmark uses the
same generator for a full-size clip.
"""

from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av

SAMPLE_RATE = 48_000
AUDIO_FRAME_SAMPLES = 1024


def _texture(width: int, height: int, grain: int, seed: int) -> bytes:
    """A gray image of `width`×`height` blotches about `grain` pixels across."""
    rng = random.Random(seed)
    small_w, small_h = max(2, width // grain), max(2, height // grain)
    small = _frame("gray", small_w, small_h, [rng.randbytes(small_w * small_h)])
    big = small.reformat(width=width, height=height, interpolation="BICUBIC")
    plane = big.planes[0]
    data = bytes(plane)
    if plane.line_size == width:
        return data
    return b"".join(
        data[row * plane.line_size : row * plane.line_size + width] for row in range(height)
    )


def _frame(pixel_format: str, width: int, height: int, planes: list[bytes]) -> av.VideoFrame:
    """A frame from tightly packed planes (one byte per sample), padded to FFmpeg's strides."""
    frame = av.VideoFrame(width, height, pixel_format)
    for plane, data in zip(frame.planes, planes, strict=True):
        row = plane.width
        if plane.line_size != row:
            padding = bytes(plane.line_size - row)
            data = b"".join(
                data[start : start + row] + padding for start in range(0, len(data), row)
            )
        plane.update(data)
    return frame


class _PanningPlane:
    """One image plane cut from a texture twice its size, at an offset that moves per frame."""

    def __init__(self, width: int, height: int, grain: int, seed: int) -> None:
        self.width, self.height = width, height
        self.texture = _texture(2 * width, 2 * height, grain, seed)

    def at(self, dx: int, dy: int) -> bytes:
        stride, width = 2 * self.width, self.width
        dx, dy = dx % width, dy % self.height
        start = dy * stride + dx
        return b"".join(
            self.texture[start + row * stride : start + row * stride + width]
            for row in range(self.height)
        )


def _tone(start_sample: int, samples: int, channels: int) -> bytes:
    """Interleaved signed 16-bit samples of a 440 Hz tone (a fifth higher on the right)."""
    values = []
    for n in range(start_sample, start_sample + samples):
        t = n / SAMPLE_RATE
        left = int(12_000 * math.sin(2 * math.pi * 440 * t))
        values.append(left)
        if channels == 2:
            values.append(int(12_000 * math.sin(2 * math.pi * 660 * t)))
    return struct.pack(f"<{len(values)}h", *values)


@dataclass(frozen=True)
class VideoSpec:
    width: int = 320
    height: int = 240
    seconds: float = 2.0
    fps: int = 24
    audio: bool = True
    video_bitrate: int = 2_000_000
    rotation: int = 0  # display rotation in degrees, counter-clockwise, kept as metadata
    grain: int = 4  # size of the texture's blotches in pixels: smaller is harder to compress
    preset: str = "veryfast"
    seed: int = 1
    container: str = "mp4"  # or "webm" (VP8 + Opus) or "matroska" (H.264 + AAC)
    video_codec: str | None = None  # None: the container's usual one (below)


# The codecs each container is written with: (video, audio, audio sample rate).
_CODECS = {
    "mp4": ("libx264", "aac", SAMPLE_RATE),
    "matroska": ("libx264", "aac", SAMPLE_RATE),
    "webm": ("libvpx", "libopus", SAMPLE_RATE),
}


def write_video(path: Path, spec: VideoSpec = VideoSpec()) -> Path:
    """Encode a video (an H.264 + AAC MP4 unless `spec.container` says otherwise) to `path` as
    described by `spec`; return `path`."""
    frames = round(spec.seconds * spec.fps)
    width, height = spec.width, spec.height
    luma = _PanningPlane(width, height, spec.grain, spec.seed)
    blue = _PanningPlane(width // 2, height // 2, spec.grain, spec.seed + 1)
    red = _PanningPlane(width // 2, height // 2, spec.grain * 2, spec.seed + 2)
    video_codec, audio_codec, audio_rate = _CODECS[spec.container]
    video_codec = spec.video_codec or video_codec
    with av.open(str(path), "w", format=spec.container) as container:
        # Codecs named at run time: PyAV's types know the stream's kind only from a literal.
        video = cast(av.VideoStream, container.add_stream(video_codec, rate=spec.fps))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.bit_rate = spec.video_bitrate
        if video_codec == "libx264":
            video.options = {"preset": spec.preset}
        if spec.rotation:
            video.set_display_rotation(spec.rotation)
        audio = None
        if spec.audio:
            audio = cast(
                av.AudioStream, container.add_stream(audio_codec, rate=audio_rate, layout="stereo")
            )
            audio.bit_rate = 128_000
        audio_written = 0
        for index in range(frames):
            # The pan speeds up and turns, so motion search has something to do.
            dx = int(index * (3 + index / 20))
            dy = int(2 * index + 10 * math.sin(index / 7))
            planes = [luma.at(dx, dy), blue.at(dx // 2, dy // 2), red.at(-dx // 2, (dy + 5) // 2)]
            frame = _frame("yuv420p", width, height, planes)
            frame.pts = index
            frame.time_base = Fraction(1, spec.fps)
            container.mux(video.encode(frame))
            if audio is not None:
                until = round((index + 1) / spec.fps * SAMPLE_RATE)
                while audio_written + AUDIO_FRAME_SAMPLES <= until:
                    chunk = av.AudioFrame(
                        format="s16", layout="stereo", samples=AUDIO_FRAME_SAMPLES
                    )
                    chunk.planes[0].update(_tone(audio_written, AUDIO_FRAME_SAMPLES, 2))
                    chunk.sample_rate = SAMPLE_RATE
                    chunk.pts = audio_written
                    chunk.time_base = Fraction(1, SAMPLE_RATE)
                    container.mux(audio.encode(chunk))
                    audio_written += AUDIO_FRAME_SAMPLES
        container.mux(video.encode(None))
        if audio is not None:
            container.mux(audio.encode(None))
    return path


def write_undecodable(path: Path, size: int = 200_000) -> Path:
    """A file that starts like an MP4 but holds no decodable video."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    path.write_bytes(head + random.Random(7).randbytes(size - len(head)))
    return path


@dataclass(frozen=True)
class Decoded:
    """What a video file really holds, found by decoding every frame."""

    width: int  # as displayed, after any rotation metadata
    height: int
    rotation: int  # the rotation metadata itself (0: the picture is stored upright)
    seconds: float
    video_frames: int
    audio_seconds: float
    video_codec: str
    audio_codec: str | None


def decode_all(path: Path) -> Decoded:
    """Decode the whole file (raising on damage) and report what it holds."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        streams = [video] if audio is None else [video, audio]
        frames, width, height, rotation, last_end, audio_samples = 0, 0, 0, 0, 0.0, 0
        audio_rate = 1
        for frame in container.decode(*streams):
            if isinstance(frame, av.VideoFrame):
                frames += 1
                rotation = frame.rotation
                turned = rotation % 180 != 0
                width, height = (
                    (frame.height, frame.width) if turned else (frame.width, frame.height)
                )
                if frame.pts is not None and frame.time_base is not None:
                    step = 1 / float(video.average_rate or 24)
                    last_end = max(last_end, float(frame.pts * frame.time_base) + step)
            elif isinstance(frame, av.AudioFrame):
                audio_samples += frame.samples
                audio_rate = frame.sample_rate
        return Decoded(
            width=width,
            height=height,
            rotation=rotation,
            seconds=last_end,
            video_frames=frames,
            audio_seconds=audio_samples / audio_rate if audio is not None else 0.0,
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio is not None else None,
        )
