"""What a running process really holds, read from /proc (Linux): its environment, working
folder, that folder's files and its resource limits. Used to look at the encoder process while
it works, from outside, as an attacker who got code running in it would see it."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

ENCODER_MODULE = "bot.video.encoder_process"


@dataclass(frozen=True)
class Seen:
    """One look at a process."""

    pid: int
    env: dict[str, str]
    cwd: Path
    files_in_cwd: list[str]
    limits: dict[str, str]  # "Max address space" -> its soft limit, as /proc shows it


def _read(pid: int, name: str) -> bytes:
    return Path(f"/proc/{pid}/{name}").read_bytes()


def command_line(pid: int) -> list[str]:
    return [part.decode() for part in _read(pid, "cmdline").split(b"\0") if part]


def look_at(pid: int) -> Seen:
    env = {}
    for entry in _read(pid, "environ").split(b"\0"):
        if entry:
            key, _, value = entry.decode(errors="replace").partition("=")
            env[key] = value
    cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    limits = {}
    for line in _read(pid, "limits").decode().splitlines()[1:]:
        name, soft = line[:26].strip(), line[26:47].strip()
        limits[name] = soft
    return Seen(pid, env, cwd, sorted(os.listdir(cwd)), limits)


def children_of(parent: int) -> list[int]:
    """The processes whose parent is `parent`, running the encoder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent and ENCODER_MODULE in command_line(int(entry.name)):
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def confined(seen: Seen) -> bool:
    """Whether the encoder has applied its limits yet (it does so once it has started)."""
    return seen.limits.get("Max address space") not in (None, "unlimited")


async def watch_encoder(parent: int, timeout: float = 30.0) -> Seen:
    """Catch an encoder process of `parent` at work, once it has confined itself."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in children_of(parent):
            try:
                seen = look_at(pid)
            except OSError:
                continue  # it ended between the listing and the look
            if confined(seen):
                return seen
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no confined encoder process of {parent} seen within {timeout} s")
