"""A throw-away PostgreSQL server for the test suite: its own folder, a free port, loopback only.

The Debian `postgresql` server package provides the binaries (`scripts/test.sh` installs it when
missing). PostgreSQL refuses to run as root, so when the suite runs as root the cluster belongs
to the unprivileged `postgres` system user that the package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15
SUPERUSER = "sora"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found: install the Debian package 'postgresql'"
        )
    return Path(found[0]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="sora-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._run_as: str | None = "postgres" if os.geteuid() == 0 else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def _command(self, *argv: str) -> list[str]:
        if self._run_as is None:
            return list(argv)
        return ["runuser", "-u", self._run_as, "--", *argv]

    def start(self) -> None:
        if self._run_as is not None:
            entry = pwd.getpwnam(self._run_as)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            self._command(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS * 2,
        )
        log = open(self.root / "server.log", "wb")  # noqa: SIM115 - kept open for the server
        self._process = subprocess.Popen(
            self._command(
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    "PostgreSQL exited at start: " + (self.root / "server.log").read_text()[-2000:]
                )
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                timeout=5,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"PostgreSQL did not accept connections in {START_TIMEOUT_SECONDS} s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()  # smart shutdown is SIGTERM; fast enough with no clients
            try:
                self._process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(STOP_TIMEOUT_SECONDS)
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


TEMPLATE = "sora_template"
SHARED = "sora_shared"
# Every table but the migrations' record, in one statement.
_CLEAR = """DO $$ BEGIN EXECUTE (
  SELECT 'TRUNCATE ' || string_agg(quote_ident(tablename), ', ') || ' RESTART IDENTITY CASCADE'
  FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'); END $$"""


class Databases:
    """Fresh, migrated databases on one cluster, one per test: a copy of a template database
    migrated once (CREATE DATABASE … TEMPLATE takes milliseconds; migrating takes longer)."""

    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster
        self._count = 0
        self._template_ready = False
        self._shared_ready = False

    def _psql(self, sql: str) -> None:
        subprocess.run(
            [
                str(self.cluster.bin / "psql"),
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.cluster.url,
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def empty(self) -> str:
        """The URL of a new database without any table."""
        self._count += 1
        name = f"sora_test_{self._count}"
        self._psql(f"CREATE DATABASE {name}")
        return self.cluster.database_url(name)

    def owned_by_password_role(self, role: str, password: str) -> str:
        """The URL (without the password) of a new empty database owned by a new `role` that
        must log in with `password` (scram-sha-256; the suite's other roles stay trusted)."""
        literal = "'" + password.replace("'", "''") + "'"
        self._psql(f"CREATE ROLE {role} LOGIN PASSWORD {literal}")
        self._count += 1
        name = f"sora_test_{self._count}"
        self._psql(f"CREATE DATABASE {name} OWNER {role}")
        hba = self.cluster.data / "pg_hba.conf"
        rule = f"host all {role} 127.0.0.1/32 scram-sha-256\n"
        hba.write_text(rule + hba.read_text())  # the first matching line decides
        self._psql("SELECT pg_reload_conf()")
        return f"postgresql://{role}@127.0.0.1:{self.cluster.port}/{name}"

    def cleared(self, migrate: Callable[[str], None]) -> str:
        """The URL of the shared migrated database, emptied of rows (ids start again at 1):
        for tests that use one connection pool at a time."""
        url = self.cluster.database_url(SHARED)
        if not self._shared_ready:
            self._psql(f"CREATE DATABASE {SHARED}")
            migrate(url)
            self._shared_ready = True
        else:
            subprocess.run(
                [
                    str(self.cluster.bin / "psql"),
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-d",
                    url,
                    "-c",
                    _CLEAR,
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
        return url

    def migrated(self, migrate: Callable[[str], None]) -> str:
        """The URL of a new database holding every migration (`migrate(url)` makes the
        template the first time)."""
        if not self._template_ready:
            self._psql(f"CREATE DATABASE {TEMPLATE}")
            migrate(self.cluster.database_url(TEMPLATE))
            self._template_ready = True
        self._count += 1
        name = f"sora_test_{self._count}"
        self._psql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.cluster.database_url(name)
