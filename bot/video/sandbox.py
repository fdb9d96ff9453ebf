"""The box the encoder process works in, since what it reads comes from a third party.

Three walls, each useful alone:
- the file: the video is hard-linked (or copied) into a private folder of its own, which holds
  nothing else and is the process's working and home folder (`make_box`);
- the environment: built from a short allow-list, so the process never holds the Discord
  token, the API keys or the database URL (`encoder_environment`);
- the limits: address space, CPU time and the size of any file it writes, set by the process
  on itself before it opens the video (`confine`), plus the largest picture and the longest
  video it will decode (`EncoderLimits`), checked from the file's headers first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import bot

GiB = 1024 * 1024 * 1024
BOX_PREFIX = "encoder-"
# What the encoder process may inherit: where programs and libraries are, and the language.
# Everything else (tokens, keys, DATABASE_URL, proxies...) stays with the bot.
INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "LD_LIBRARY_PATH")
# Where the `bot` package lives, so `python -m bot.video.encoder_process` works from the box.
SOURCE_ROOT = Path(bot.__file__).resolve().parent.parent
# Run below the bot's priority: on a small machine the bot answers first, the encode waits.
NICENESS = 10
# Past the CPU limit the kernel sends SIGXCPU; this much later, SIGKILL.
CPU_GRACE_SECONDS = 5


@dataclass(frozen=True)
class EncoderLimits:
    """What one run of the encoder process may use (ENCODER_* and MAX_VIDEO_* settings)."""

    memory_bytes: int = 2 * GiB
    cpu_seconds: int = 600  # CPU time of all its threads together
    output_margin: float = 0.5  # the fitted file may come out this much over the upload limit
    max_side: int = 4096  # pixels, the picture's width or height
    max_seconds: float = 120.0

    def output_bytes(self, limit_bytes: int) -> int:
        """The largest file a fit for `limit_bytes` may write: a first try that comes out a
        little over is measured and encoded again lower; one far over is stopped."""
        return int(limit_bytes * (1 + self.output_margin))

    def arguments(self, output_bytes: int) -> list[str]:
        """The limits on the encoder process's command line (it applies them to itself)."""
        return [
            f"--memory-bytes={self.memory_bytes}",
            f"--cpu-seconds={self.cpu_seconds}",
            f"--output-bytes={output_bytes}",
            f"--max-side={self.max_side}",
            f"--max-seconds={self.max_seconds:g}",
        ]


def encoder_environment(box: Path, parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of an encoder process working in `box`."""
    parent = os.environ if parent is None else parent
    env = {name: parent[name] for name in INHERITED if name in parent}
    python_path = [str(SOURCE_ROOT), *filter(None, parent.get("PYTHONPATH", "").split(os.pathsep))]
    env |= {
        "HOME": str(box),
        "TMPDIR": str(box),
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(python_path)),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        # Few malloc arenas: each thread's arena reserves 64 MiB of address space, which would
        # count against the memory limit without ever being used.
        "MALLOC_ARENA_MAX": "2",
    }
    return env


def make_box(work_dir: Path, source: Path, name: str) -> Path:
    """A private folder in `work_dir` holding only `source`, as `name`: returns that path.

    A hard link costs nothing; across file systems (or where links are not allowed) the video
    is copied. Remove it with `remove_box`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    box = Path(tempfile.mkdtemp(prefix=BOX_PREFIX, dir=work_dir))  # mode 0700
    inside = box / name
    try:
        try:
            os.link(source, inside)
        except OSError:
            shutil.copyfile(source, inside)
    except BaseException:
        shutil.rmtree(box, ignore_errors=True)
        raise
    return inside


def remove_box(inside: Path) -> None:
    shutil.rmtree(inside.parent, ignore_errors=True)


def confine(*, memory_bytes: int, cpu_seconds: int, output_bytes: int) -> None:
    """Apply the limits to this process (the encoder's first act, before it reads the video).

    Hard limits are lowered too, so nothing running here can raise them again."""
    import resource

    def lower(kind: int, soft: int, hard: int) -> None:
        _, current_hard = resource.getrlimit(kind)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(kind, (soft, hard))

    lower(resource.RLIMIT_AS, memory_bytes, memory_bytes)
    lower(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + CPU_GRACE_SECONDS)
    lower(resource.RLIMIT_FSIZE, output_bytes, output_bytes)
    lower(resource.RLIMIT_CORE, 0, 0)  # a crash leaves no memory image on disk
