"""A worker's claim on the jobs it moves, when several bot processes share one database.

A claim is written and judged by the database's clock (bot/storage/jobs.py), renewed while
the step runs, and lapses when its process dies, so another takes the job over.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Lease:
    """A worker's claim on the jobs it is moving, when several processes share the database:
    `owner` names the process, and a claim lapses `seconds` after it was last renewed."""

    owner: str
    seconds: float

    @classmethod
    def for_this_process(cls, seconds: float, name: str | None = None) -> Lease:
        """A lease owner unique to this process (host, process id and a random part)."""
        owner = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        return cls(owner, seconds)
