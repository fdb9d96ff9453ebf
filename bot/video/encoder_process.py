"""The encoder process: check that a file is a video, and write its fitted MP4.

Run by `bot.video.fitting.VideoFitter`, never inside the bot's own process:
`python -m bot.video.encoder_process probe [limits] --format=NAME SOURCE` or
`python -m bot.video.encoder_process fit [limits] --format=NAME SOURCE OUTPUT TARGET_BYTES`.
The file comes from the video service, so nothing about it is trusted: the process applies its
limits to itself before it reads a byte (bot/video/sandbox.py), FFmpeg is told the container
(never left to guess, which would let a text file be read as a concat script or a playlist),
may read it only through the `file` protocol with that one demuxer and without following
references to other files, and only known codecs are decoded, and only after the picture size
and duration read from the headers are within the limits.

Frames are streamed from decoder to encoder one at a time, so memory stays flat whatever the
video's length. The last line on stdout is a JSON report: `{"ok": true, "info": ...}` (and
`"plan"`, `"peak_rss_kib"` for a fit) or `{"ok": false, "kind": ..., "reason": ...}`, where
kind is "not_video", "over_limit" or "failed".
"""

from __future__ import annotations

import argparse
import errno
import functools
import json
import os
import stat
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter

from bot.video.fitting import EncodePlan, FitError, NotAVideo, OverLimit, VideoInfo, plan_encode
from bot.video.media_types import VIDEO_HEAD_BYTES, VIDEO_TYPES, VideoType, sniff_video_type
from bot.video.sandbox import NICENESS, confine

# x264's speed/quality trade-off: a 15-second 1080p clip fits 10 MiB in 10-15 s on two cores;
# "faster" gains over 2 dB PSNR on "veryfast" there, and slower presets gained nothing more.
X264_PRESET = "faster"
AAC_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
# The codecs decoded at all (FFmpeg's names): what video services send, nothing exotic whose
# decoder would be one more door in.
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "vorbis", "flac", "ac3", "eac3", "alac"})
# How many frames after the first picture the probe decodes looking for the first sound.
FRAMES_TO_FIND_SOUND = 100


@functools.cache
def _decoders_of(codecs: frozenset[str]) -> str:
    """FFmpeg's decoders for `codecs` (h264 may be decoded by "h264", av1 by "libdav1d"...),
    the only ones FFmpeg may start while it reads the headers."""
    names = []
    for name in sorted(av.codecs_available):
        try:
            if av.Codec(name, "r").canonical_name in codecs:
                names.append(name)
        except (av.FFmpegError, ValueError):
            continue  # an encoder only
    return ",".join(names)


def open_input(path: Path, kind: VideoType) -> av.container.InputContainer:
    """Open the video with the container named (no guessing), reading only `path` itself."""
    options = {
        "protocol_whitelist": "file",
        "format_whitelist": kind.demuxers,
        "codec_whitelist": _decoders_of(VIDEO_CODECS | AUDIO_CODECS),
    }
    if kind.demuxers.startswith("mov"):
        options["enable_drefs"] = "0"  # a movie may point at other files: never follow
    with path.open("rb") as handle:
        if sniff_video_type(handle.read(VIDEO_HEAD_BYTES)) != kind:
            raise NotAVideo(f"the file does not start like {kind.label}")
    try:
        return av.open(str(path), format=kind.name, container_options=options)
    except (av.FFmpegError, OSError) as error:
        _over_memory(error)
        raise NotAVideo(f"the file is not a readable video ({_describe(error)})") from None


def _over_memory(error: BaseException) -> None:
    """A failure from running out of the memory limit is the limit's, not the file's."""
    if isinstance(error, MemoryError) or getattr(error, "errno", None) == errno.ENOMEM:
        raise OverLimit("the video needs more memory than the encoder may use") from None


def probe(path: Path, kind: VideoType, max_side: int, max_seconds: float) -> VideoInfo:
    """Read the facts `plan_encode` needs, decoding the first picture (and sound) to be sure
    the streams decode. Raises `NotAVideo` if the file is not a decodable video of `kind`, and
    `OverLimit` if it is over `max_side` or `max_seconds`, or in a codec not decoded here."""
    with open_input(path, kind) as container:
        if not container.streams.video:
            raise NotAVideo("the file has no video track")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        _check_headers(container, video, audio, max_side, max_seconds)
        first = _first_frames(container, video, audio, max_side)
        rotation = round(first.rotation / 90) % 4 * 90
        width, height = first.width, first.height
        if rotation % 180:
            width, height = height, width
        return VideoInfo(
            duration=_duration(container, video),
            width=width,
            height=height,
            rotation=rotation,
            frame_rate=float(video.average_rate) if video.average_rate else None,
            has_audio=audio is not None,
            bit_rate=container.bit_rate or None,
            video_bit_rate=video.codec_context.bit_rate or None,
            audio_bit_rate=(audio.codec_context.bit_rate or None) if audio else None,
        )


def _check_headers(
    container: av.container.InputContainer,
    video: Any,
    audio: Any,
    max_side: int,
    max_seconds: float,
) -> None:
    """What the headers say, before anything is decoded: codecs, picture size, duration."""
    for stream, known in ((video, VIDEO_CODECS), (audio, AUDIO_CODECS)):
        if stream is not None and stream.codec_context.codec.canonical_name not in known:
            name = stream.codec_context.codec.canonical_name
            raise OverLimit(f"the {stream.type} is in a codec not decoded here ({name})")
    width, height = video.codec_context.width, video.codec_context.height
    if not width or not height:
        raise NotAVideo("the video track has no picture size")
    _check_side(width, height, max_side)
    duration = _duration(container, video)
    if duration > max_seconds:
        raise OverLimit(
            f"the video lasts {duration:.0f} seconds, over the {max_seconds:g}-second limit"
        )


def _check_side(width: int, height: int, max_side: int) -> None:
    if max(width, height) > max_side:
        raise OverLimit(f"the picture is {width}x{height}, over the {max_side}-pixel limit")


def _first_frames(
    container: av.container.InputContainer, video: Any, audio: Any, max_side: int
) -> av.VideoFrame:
    """Decode the first picture, and the first sound if there is a sound track; a stream that
    cannot be decoded is not a video. Sound that never comes (a silent track) is let be."""
    picture: av.VideoFrame | None = None
    sound = audio is None
    after_picture = 0
    try:
        for frame in container.decode(*([video] if audio is None else [video, audio])):
            if isinstance(frame, av.VideoFrame):
                _check_side(frame.width, frame.height, max_side)
                picture = picture or frame
            else:
                sound = True
            if picture is not None:
                after_picture += 1
                if sound or after_picture > FRAMES_TO_FIND_SOUND:
                    break
    except av.FFmpegError as error:
        _over_memory(error)
        raise NotAVideo(f"the video cannot be decoded ({_describe(error)})") from None
    if picture is None:
        raise NotAVideo("the video track holds no picture")
    return picture


def _duration(container: av.container.InputContainer, video: Any) -> float:
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    raise NotAVideo("the video's duration is unknown")


def encode(
    source: Path, kind: VideoType, output: Path, info: VideoInfo, plan: EncodePlan, max_side: int
) -> None:
    """Re-encode `source` to `output` following `plan`; raise `FitError` on any failure."""
    try:
        with open_input(source, kind) as reader:
            _transcode(reader, output, info, plan, max_side)
    except av.FFmpegError as error:
        _over_memory(error)
        raise FitError(f"encoding failed ({_describe(error)})") from None
    except OSError as error:  # e.g. over the output size limit: "File too large"
        raise FitError(f"encoding failed ({_describe(error)})") from None


def _transcode(
    reader: av.container.InputContainer,
    output: Path,
    info: VideoInfo,
    plan: EncodePlan,
    max_side: int,
) -> None:
    video_in = reader.streams.video[0]
    video_in.thread_type = "AUTO"
    audio_in = reader.streams.audio[0] if plan.audio_bitrate and reader.streams.audio else None
    with av.open(
        str(output), "w", format="mp4", container_options={"movflags": "+faststart"}
    ) as writer:
        video_out = writer.add_stream("libx264", rate=video_in.average_rate or Fraction(30))
        video_out.width, video_out.height = plan.width, plan.height
        video_out.pix_fmt = "yuv420p"
        video_out.bit_rate = plan.video_bitrate
        video_out.options = {
            "preset": X264_PRESET,
            "maxrate": str(plan.video_bitrate),
            "bufsize": str(plan.video_buffer_bits),
        }
        audio_out = None
        if audio_in is not None:
            rate = audio_in.codec_context.sample_rate
            audio_out = writer.add_stream(
                "aac",
                rate=rate if rate in AAC_SAMPLE_RATES else 48000,
                layout="mono" if audio_in.codec_context.channels == 1 else "stereo",
            )
            audio_out.bit_rate = plan.audio_bitrate
        filters = _picture_filters(video_in, info.rotation, plan)
        streams = [video_in] if audio_in is None else [video_in, audio_in]
        for packet in reader.demux(*streams):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    _check_side(frame.width, frame.height, max_side)  # it may change midway
                    filters.push(frame)
                    for picture in _pull(filters):
                        writer.mux(video_out.encode(picture))
                elif audio_out is not None and isinstance(frame, av.AudioFrame):
                    writer.mux(audio_out.encode(frame))
        filters.push(None)
        for picture in _pull(filters):
            writer.mux(video_out.encode(picture))
        writer.mux(video_out.encode(None))
        if audio_out is not None:
            writer.mux(audio_out.encode(None))


def _picture_filters(video_in: Any, rotation: int, plan: EncodePlan) -> av.filter.Graph:
    """Turn the picture upright (rotation metadata is not carried over) and scale it."""
    graph = av.filter.Graph()
    nodes = [graph.add_buffer(template=video_in)]
    if rotation == 90:
        nodes.append(graph.add("transpose", "cclock"))
    elif rotation == 270:
        nodes.append(graph.add("transpose", "clock"))
    elif rotation == 180:
        nodes += [graph.add("hflip"), graph.add("vflip")]
    nodes.append(graph.add("scale", f"{plan.width}:{plan.height}"))
    nodes.append(graph.add("format", "yuv420p"))
    nodes.append(graph.add("buffersink"))
    graph.link_nodes(*nodes).configure()
    return graph


def _pull(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    while True:
        try:
            frame = graph.vpull()
        except (av.BlockingIOError, av.EOFError):
            return
        yield frame


def _describe(error: BaseException) -> str:
    if isinstance(error, av.FFmpegError) and error.strerror:
        return str(error.strerror)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__


def fit(
    source: Path,
    kind: VideoType,
    output: Path,
    target_bytes: int,
    max_side: int,
    max_seconds: float,
) -> dict[str, Any]:
    info = probe(source, kind, max_side, max_seconds)
    plan = plan_encode(info, target_bytes)
    encode(source, kind, output, info, plan, max_side)
    return {"ok": True, "info": asdict(info), "plan": asdict(plan), "peak_rss_kib": _peak_rss()}


def _peak_rss() -> int | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _exit_when_parent_goes() -> None:
    """The bot holds our stdin open; when it closes, the bot is gone and the work is moot."""
    if not stat.S_ISFIFO(os.fstat(0).st_mode):
        return

    def watch() -> None:
        # The raw descriptor, not sys.stdin: a daemon thread blocked inside a buffered reader
        # makes the interpreter abort at exit.
        while os.read(0, 4096):
            pass
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.video.encoder_process")
    parser.add_argument("mode", choices=("probe", "fit"))
    parser.add_argument("--format", required=True, choices=sorted(VIDEO_TYPES))
    parser.add_argument("--memory-bytes", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--output-bytes", type=int, required=True)
    parser.add_argument("--max-side", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, required=True)
    parser.add_argument("source", type=Path)
    parser.add_argument("output", type=Path, nargs="?")
    parser.add_argument("target_bytes", type=int, nargs="?")
    return parser


def main(argv: list[str]) -> int:
    parser = _arguments()
    args = parser.parse_args(argv)
    if args.mode == "fit" and (args.output is None or args.target_bytes is None):
        parser.error("fit needs SOURCE OUTPUT TARGET_BYTES")
    _exit_when_parent_goes()
    confine(
        memory_bytes=args.memory_bytes,
        cpu_seconds=args.cpu_seconds,
        output_bytes=args.output_bytes,
    )
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    kind = VIDEO_TYPES[args.format]
    try:
        if args.mode == "probe":
            info = probe(args.source, kind, args.max_side, args.max_seconds)
            report: dict[str, Any] = {"ok": True, "info": asdict(info)}
        else:
            report = fit(
                args.source,
                kind,
                args.output,
                args.target_bytes,
                args.max_side,
                args.max_seconds,
            )
    except NotAVideo as error:
        report = {"ok": False, "kind": "not_video", "reason": str(error)}
    except OverLimit as error:
        report = {"ok": False, "kind": "over_limit", "reason": str(error)}
    except FitError as error:
        report = {"ok": False, "kind": "failed", "reason": str(error)}
    except MemoryError:
        report = {"ok": False, "kind": "over_limit", "reason": "the memory limit was reached"}
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
