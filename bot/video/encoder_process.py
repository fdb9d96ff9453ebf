"""The encoder process: probe a video, plan the encode, and write the fitted MP4.

Run by `bot.video.fitting.VideoFitter` as
`python -m bot.video.encoder_process SOURCE OUTPUT TARGET_BYTES`,
never inside the bot's own process. Frames are streamed from decoder to encoder one at a time,
so memory stays flat whatever the video's length. The last line on stdout is a JSON report:
`{"ok": true, "info": ..., "plan": ..., "peak_rss_kib": ...}` or `{"ok": false, "reason": ...}`.
"""

from __future__ import annotations

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

from bot.video.fitting import EncodePlan, FitError, VideoInfo, plan_encode

# x264's speed/quality trade-off: a 15-second 1080p clip fits 10 MiB in 10-15 s on two cores;
# "faster" gains over 2 dB PSNR on "veryfast" there, and slower presets gained nothing more.
X264_PRESET = "faster"
AAC_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
# Run below the bot's priority: on a small machine the bot answers first, the encode waits.
NICENESS = 10


def probe(path: Path) -> VideoInfo:
    """Read the facts `plan_encode` needs; raise `FitError` if the file is not a decodable video."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as error:
        raise FitError(f"the file is not a readable video ({_describe(error)})") from None
    with container:
        if not container.streams.video:
            raise FitError("the file has no video track")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        first = _first_frame(container, video)
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


def _first_frame(container: av.container.InputContainer, video: Any) -> av.VideoFrame:
    try:
        for frame in container.decode(video):
            return frame
    except av.FFmpegError as error:
        raise FitError(f"the video cannot be decoded ({_describe(error)})") from None
    raise FitError("the video track holds no picture")


def _duration(container: av.container.InputContainer, video: Any) -> float:
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    raise FitError("the video's duration is unknown")


def encode(source: Path, output: Path, info: VideoInfo, plan: EncodePlan) -> None:
    """Re-encode `source` to `output` following `plan`; raise `FitError` on any failure."""
    try:
        with av.open(str(source)) as reader:
            _transcode(reader, output, info, plan)
    except av.FFmpegError as error:
        raise FitError(f"encoding failed ({_describe(error)})") from None


def _transcode(
    reader: av.container.InputContainer, output: Path, info: VideoInfo, plan: EncodePlan
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


def fit(source: Path, output: Path, target_bytes: int) -> dict[str, Any]:
    info = probe(source)
    plan = plan_encode(info, target_bytes)
    encode(source, output, info, plan)
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


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not argv[2].isdigit():
        print(
            "usage: python -m bot.video.encoder_process SOURCE OUTPUT TARGET_BYTES", file=sys.stderr
        )
        return 2
    _exit_when_parent_goes()
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    try:
        report = fit(Path(argv[0]), Path(argv[1]), int(argv[2]))
    except FitError as error:
        report = {"ok": False, "reason": str(error)}
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
