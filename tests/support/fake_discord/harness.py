"""Runs a bot as its own process (``python -m <module>``) against a ``FakeDiscord``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

PROJECT_ROOT = Path(__file__).resolve().parents[3]
LAUNCHER = "tests.support.fake_discord.launch"
# Passed through from the test's environment by default; everything else (API keys, tokens)
# must be given explicitly, so a test bot never picks up real credentials by accident.
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, SIGKILL it if the test process dies, so an
    aborted test run never leaves a bot behind."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


class BotProcess:
    """One bot process. Output (stdout and stderr) goes to ``log_path``.

    The child runs in its own process group so ``kill()`` also reaches anything it spawned.
    """

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._proc: asyncio.subprocess.Process | None = None

    async def start(
        self,
        module: str,
        env: Mapping[str, str],
        cwd: Path | str | None = None,
        *,
        args: tuple[str, ...] = (),
        inherit_env: bool = False,
    ) -> BotProcess:
        """``python -m tests.support.fake_discord.launch <module> [args]`` in ``cwd`` (default: the
        project root). ``env`` must hold the simulator's ``launcher_env`` plus whatever the bot
        reads; only ``BASE_ENV`` is inherited unless ``inherit_env``."""
        if self._proc is not None and self._proc.returncode is None:
            raise RuntimeError("this BotProcess is still running")
        inherited = (
            os.environ if inherit_env else {k: v for k, v in os.environ.items() if k in BASE_ENV}
        )
        full_env = {**inherited, **env}
        # The launcher lives in the project's tests package; make it importable from any cwd.
        python_path = [str(PROJECT_ROOT), full_env.get("PYTHONPATH", "")]
        full_env["PYTHONPATH"] = os.pathsep.join(p for p in python_path if p)
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                LAUNCHER,
                module,
                *args,
                cwd=str(cwd or PROJECT_ROOT),
                env=full_env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return self

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.returncode

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def wait_exit(self, timeout: float) -> int:
        """The exit code; ``TimeoutError`` if it is still running after ``timeout`` s."""
        if self._proc is None:
            raise RuntimeError("not started")
        try:
            return await asyncio.wait_for(self._proc.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"bot pid {self._proc.pid} still running after {timeout}s\n{self.log_tail()}"
            ) from None

    async def kill(self) -> int:
        """SIGKILL the bot's process group (a crash, as far as the bot can tell) and reap it."""
        if self._proc is None:
            raise RuntimeError("not started")
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        return await self._proc.wait()

    async def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM (a graceful stop request), then SIGKILL if not gone within ``timeout`` s."""
        if self._proc is None:
            raise RuntimeError("not started")
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)
            try:
                return await asyncio.wait_for(self._proc.wait(), timeout)
            except TimeoutError:
                return await self.kill()
        return self._proc.returncode

    async def ensure_stopped(self) -> None:
        """Kill if running, and always reap so no zombie is left."""
        if self._proc is not None:
            await self.kill()

    def log_text(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    async def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """Poll the log until it contains ``text``; fails early if the process exits."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            log = self.log_text()
            if text in log:
                return log
            if not self.running:
                raise AssertionError(
                    f"bot exited ({self.returncode}) before logging {text!r}\n{log}"
                )
            if loop.time() >= deadline:
                raise TimeoutError(f"{text!r} not logged within {timeout}s\n{self.log_tail()}")
            await asyncio.sleep(0.05)


class BotRunner:
    """Starts any number of ``BotProcess``es and kills them all on exit (see ``bot_runner``)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[BotProcess] = []

    async def start(
        self,
        module: str,
        env: Mapping[str, str],
        cwd: Path | str | None = None,
        *,
        args: tuple[str, ...] = (),
        inherit_env: bool = False,
    ) -> BotProcess:
        process = BotProcess(self.log_dir / f"bot-{len(self.processes) + 1}.log")
        self.processes.append(process)
        return await process.start(module, env, cwd, args=args, inherit_env=inherit_env)

    async def stop_all(self) -> None:
        for process in self.processes:
            await process.ensure_stopped()

    async def __aenter__(self) -> BotRunner:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_all()
