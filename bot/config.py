"""Settings from the environment (and `.env`), validated once at start-up.

Every problem is collected, not just the first, so an operator fixes them all in one go.
Secrets are wrapped in `Secret` so they never reach a log line, a message or a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

QUOTA_PERIODS = ("day", "week", "month")
PROVIDERS = ("rivya", "unified")


class Secret:
    """A string that refuses to show itself in repr/str; call `reveal()` where it is needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SettingsError(Exception):
    """Raised with one human-readable line per invalid or missing setting."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    discord_token: Secret
    provider: str
    model: str
    rivya_api_key: Secret | None
    rivya_base_url: str
    unified_api_key: Secret | None
    unified_base_url: str | None
    database_path: Path
    # sqlite:///… (from DATABASE_PATH) or postgresql://…, which may hold a password.
    database_url: str = field(repr=False)
    media_dir: Path
    dev_guild_id: int | None
    default_quota: int
    quota_period: str
    quota_timezone: str
    max_active_jobs_per_member: int
    max_active_jobs_per_guild: int
    submit_cooldown_seconds: float
    mod_role_ids: tuple[int, ...]
    quota_log_channel_id: int | None
    image_retention_days: float
    media_max_bytes: int
    job_deadline_seconds: float
    upload_limit_cap_bytes: int | None  # None: Discord's reported limit is used as is
    rivya_poll_seconds: tuple[float, ...]
    unified_poll_seconds: tuple[float, ...]
    provider_timeout_seconds: float
    status_edit_interval_seconds: float
    worker_concurrency: int
    transcode_concurrency: int
    transcode_timeout_seconds: float
    poll_concurrency: int
    min_poll_seconds: float | None  # None: the smallest gap of the backend's schedule
    dense_poll_seconds: float
    log_level: str
    log_format: str = "text"
    credit_warning: float | None = None
    metrics_port: int | None = None  # None: no metrics or health endpoint
    metrics_host: str = "127.0.0.1"
    # PostgreSQL only: how long a worker's claim on a job lasts without renewal.
    job_lease_seconds: float = 60.0
    # Sharding: off (None, one gateway connection), `auto` (0: as many shards as Discord
    # recommends, all in this process) or a number of shards, of which this process runs
    # `shard_ids` (None: all of them).
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    video_retention_days: float = 30.0
    video_max_bytes: int = 10 * 1024 * 1024 * 1024
    # A server's queue (bot/jobs/queue.py): jobs one member, and one server, may have waiting
    # for a slot; 0 waiting per server: no queue, a job over the caps is refused.
    max_queued_jobs_per_member: int = 3
    max_queued_jobs_per_guild: int = 50
    # Jobs at the video service at once across the whole deployment (None: no such cap).
    provider_max_active_jobs: int | None = None
    # The running bot's liveness, read by `sora-bot check --health` (bot/ops/liveness_file.py).
    liveness_file: Path = Path("data/liveness.json")
    secrets: tuple[Secret, ...] = field(default=(), repr=False)

    @property
    def provider_api_key(self) -> Secret | None:
        return self.rivya_api_key if self.provider == "rivya" else self.unified_api_key

    @property
    def poll_seconds(self) -> tuple[float, ...]:
        """The configured gaps between status checks of the active backend."""
        return self.rivya_poll_seconds if self.provider == "rivya" else self.unified_poll_seconds

    @property
    def min_poll_gap(self) -> float:
        """The least time between two status checks of one task."""
        if self.min_poll_seconds is not None:
            return self.min_poll_seconds
        return min(self.poll_seconds)


def quoted(value: str) -> bool:
    """Whether `value` is wrapped in a matching pair of quotes, as `"UTC"` or `'UTC'`."""
    return len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'"


def quotes_problem(name: str) -> str:
    # Never the value itself: it may be a secret.
    return (
        f"{name} is wrapped in quotes: remove the quotes around the value in .env "
        "(`docker run --env-file` keeps them as part of the value)."
    )


class _Reader:
    """Reads typed values from an environment mapping, recording problems instead of raising."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        """The value without surrounding blanks; a quoted one is a problem of its own (no
        setting's value starts and ends with a quote) and is read without its quotes."""
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        if quoted(value):
            problem = quotes_problem(name)
            if problem not in self.problems:
                self.problems.append(problem)
            value = value[1:-1].strip()
        return value or None

    def required(self, name: str, expects: str) -> str:
        value = self.raw(name)
        if value is None:
            self.problems.append(f"{name} is missing: expected {expects}.")
            return ""
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = (self.raw(name) or default).lower()
        if value not in options:
            self.problems.append(f"{name} must be one of {', '.join(options)} (got {value!r}).")
            return default
        return value

    def integer(self, name: str, default: int | None, minimum: int = 0) -> int | None:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            self.problems.append(f"{name} must be a whole number (got {value!r}).")
            return default
        if number < minimum:
            self.problems.append(f"{name} must be at least {minimum} (got {number}).")
            return default
        return number

    def number(self, name: str, default: float, minimum: float) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            self.problems.append(f"{name} must be a number (got {value!r}).")
            return default
        if number < minimum:
            self.problems.append(f"{name} must be at least {minimum:g} (got {number:g}).")
            return default
        return number

    def optional_number(self, name: str, minimum: float) -> float | None:
        """A number, or None when the setting is empty or invalid (the feature it sets is off)."""
        if self.raw(name) is None:
            return None
        problems = len(self.problems)
        number = self.number(name, 0.0, minimum)
        return None if len(self.problems) > problems else number

    def port(self, name: str) -> int | None:
        """A TCP port, or None when the setting is empty (the feature it sets is off)."""
        value = self.raw(name)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 65535):
            self.problems.append(f"{name} must be a port number from 1 to 65535 (got {value!r}).")
            return None
        return int(value)

    def id_list(self, name: str) -> tuple[int, ...]:
        """Comma-separated Discord ids (snowflakes); empty means none."""
        text = self.raw(name) or ""
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not all(part.isascii() and part.isdigit() and int(part) > 0 for part in parts):
            self.problems.append(
                f"{name} must be a comma-separated list of Discord ids, e.g. "
                f"123456789012345678,234567890123456789 (got {text!r})."
            )
            return ()
        return tuple(dict.fromkeys(int(part) for part in parts))

    def shards(self) -> tuple[int | None, tuple[int, ...] | None]:
        """SHARD_COUNT (`auto` or a number) and SHARD_IDS (which of them this process runs)."""
        count_text = (self.raw("SHARD_COUNT") or "").strip().lower()
        ids_text = self.raw("SHARD_IDS") or ""
        count: int | None = None
        if count_text == "auto":
            count = 0
        elif count_text:
            count = self.integer("SHARD_COUNT", None, minimum=1)
        parts = [part.strip() for part in ids_text.split(",") if part.strip()]
        if not parts:
            return count, None
        if not count:
            self.problems.append(
                "SHARD_IDS needs SHARD_COUNT set to the total number of shards, e.g. "
                "SHARD_COUNT=2 with SHARD_IDS=0 on one process and SHARD_IDS=1 on another."
            )
            return count, None
        if not all(part.isascii() and part.isdigit() and int(part) < count for part in parts):
            self.problems.append(
                f"SHARD_IDS must be a comma-separated list of shard numbers from 0 to "
                f"{count - 1} (SHARD_COUNT={count}), e.g. 0,1 (got {ids_text!r})."
            )
            return count, None
        return count, tuple(dict.fromkeys(int(part) for part in parts))

    def seconds_list(self, name: str, default: str) -> tuple[float, ...]:
        text = self.raw(name) or default
        try:
            gaps = tuple(float(part) for part in text.split(",") if part.strip())
        except ValueError:
            gaps = ()
        if not gaps or any(gap <= 0 for gap in gaps):
            self.problems.append(
                f"{name} must be a comma-separated list of positive seconds, e.g. 3,5,10,30 "
                f"(got {text!r})."
            )
            return tuple(float(part) for part in default.split(","))
        return gaps

    def timezone(self, name: str, default: str) -> str:
        value = self.raw(name) or default
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.problems.append(
                f"{name} must be an IANA time zone such as UTC or Europe/Paris (got {value!r})."
            )
            return default
        return value

    def url(self, name: str, default: str | None) -> str | None:
        value = self.raw(name) or default
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            self.problems.append(f"{name} must start with http:// or https:// (got {value!r}).")
        return value.rstrip("/")


DEFAULT_DATABASE_PATH = "./data/sora-bot.sqlite3"


def database_path_from(env: Mapping[str, str]) -> Path:
    """DATABASE_PATH, or its default; needs no other setting (used by `sora-bot backup`).
    Raises `ValueError` for a quoted value."""
    read = _Reader(env)
    path = _database_path(read)
    _raise_first(read)
    return path


def _database_path(read: _Reader) -> Path:
    return Path(read.raw("DATABASE_PATH") or DEFAULT_DATABASE_PATH)


def database_url_from(env: Mapping[str, str]) -> str:
    """DATABASE_URL, or SQLite at DATABASE_PATH (the default, as before DATABASE_URL existed).
    Raises `DatabaseUrlError` for a URL this bot cannot use, `ValueError` for a quoted value."""
    read = _Reader(env)
    url = _database_url(read)
    _raise_first(read)
    return url


def _raise_first(read: _Reader) -> None:
    """For the commands that read one or two settings alone: their first problem, if any."""
    if read.problems:
        raise ValueError(read.problems[0])


def _database_url(read: _Reader) -> str:
    from bot.storage.urls import DatabaseUrlError, parse_target, with_password

    url = read.raw("DATABASE_URL")
    password = read.raw("DATABASE_PASSWORD")
    target = parse_target(url) if url is not None else None
    if password is not None and (target is None or target.engine != "postgresql"):
        raise DatabaseUrlError(
            "DATABASE_PASSWORD is for PostgreSQL: set DATABASE_URL to "
            "postgresql://user@host:5432/name too, or leave DATABASE_PASSWORD empty."
        )
    if target is None:
        return f"sqlite:///{_database_path(read)}"
    return target.url if password is None else with_password(target.url, password)


def database_passwords(url: str) -> tuple[str, ...]:
    """The password inside a PostgreSQL DATABASE_URL, as written there and unescaped: both
    are scrubbed from logs like the keys."""
    from urllib.parse import urlsplit

    from bot.storage.urls import password_in

    plain = password_in(url)
    if plain is None:
        return ()
    return tuple(dict.fromkeys((plain, urlsplit(url).password or plain)))


def _or(value: int | None, default: int) -> int:
    """A whole-number setting whose 0 means something (unlike `x or default`)."""
    return default if value is None else value


DEFAULT_RIVYA_POLL = "3,5,5,5,5,5,10,10,10,10,15,15,20,30"
DEFAULT_UNIFIED_POLL = "30,30,45,60"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from `env` (default: `os.environ`); raise `SettingsError` on problems."""
    read = _Reader(os.environ if env is None else env)

    token = read.required("DISCORD_TOKEN", "the bot token from the Discord developer portal")
    provider = read.choice("PROVIDER", PROVIDERS, "rivya")
    rivya_key = read.raw("RIVYA_API_KEY")
    unified_key = read.raw("UNIFIED_API_KEY")
    unified_base = read.url("UNIFIED_BASE_URL", None)
    if provider == "rivya" and rivya_key is None:
        read.problems.append("RIVYA_API_KEY is missing: expected your Rivya key (rvya_sk_...).")
    if provider == "unified":
        if unified_key is None:
            read.problems.append("UNIFIED_API_KEY is missing: expected your gateway's API key.")
        if unified_base is None:
            read.problems.append(
                "UNIFIED_BASE_URL is missing: expected your gateway's base URL, "
                "e.g. https://api.example.com."
            )

    database_path = _database_path(read)
    shard_count, shard_ids = read.shards()
    try:
        database_url = _database_url(read)
    except ValueError as error:
        read.problems.append(str(error))
        database_url = f"sqlite:///{database_path}"
    media_dir = Path(read.raw("MEDIA_DIR") or str(database_path.parent / "media"))
    liveness_file = Path(read.raw("LIVENESS_FILE") or str(database_path.parent / "liveness.json"))
    upload_limit_mb = read.optional_number("UPLOAD_LIMIT_MB", minimum=1.0)
    log_level = read.choice("LOG_LEVEL", ("debug", "info", "warning", "error"), "info")
    credit_warning = read.optional_number("CREDIT_WARNING", minimum=1)
    if credit_warning is not None and provider != "rivya":
        read.problems.append(
            "CREDIT_WARNING needs PROVIDER=rivya: the unified API does not report credits; "
            "leave it empty."
        )

    settings = Settings(
        discord_token=Secret(token),
        provider=provider,
        model=read.raw("MODEL") or "sora-2-pro",
        rivya_api_key=Secret(rivya_key) if rivya_key else None,
        rivya_base_url=read.url("RIVYA_BASE_URL", "https://rivya.ai") or "https://rivya.ai",
        unified_api_key=Secret(unified_key) if unified_key else None,
        unified_base_url=unified_base,
        database_path=database_path,
        database_url=database_url,
        media_dir=media_dir,
        dev_guild_id=read.integer("DEV_GUILD_ID", None, minimum=1),
        default_quota=read.integer("DEFAULT_QUOTA", 5, minimum=0) or 0,
        quota_period=read.choice("QUOTA_PERIOD", QUOTA_PERIODS, "day"),
        quota_timezone=read.timezone("QUOTA_TIMEZONE", "UTC"),
        max_active_jobs_per_member=read.integer("MAX_ACTIVE_JOBS_PER_MEMBER", 2, minimum=1) or 2,
        max_active_jobs_per_guild=read.integer("MAX_ACTIVE_JOBS_PER_GUILD", 10, minimum=1) or 10,
        submit_cooldown_seconds=read.number("SUBMIT_COOLDOWN_SECONDS", 30.0, minimum=0),
        max_queued_jobs_per_member=read.integer("MAX_QUEUED_JOBS_PER_MEMBER", 3, minimum=1) or 3,
        max_queued_jobs_per_guild=_or(read.integer("MAX_QUEUED_JOBS_PER_GUILD", 50, minimum=0), 50),
        provider_max_active_jobs=read.integer("PROVIDER_MAX_ACTIVE_JOBS", None, minimum=1),
        mod_role_ids=read.id_list("MOD_ROLE_IDS"),
        quota_log_channel_id=read.integer("QUOTA_LOG_CHANNEL_ID", None, minimum=1),
        image_retention_days=read.number("IMAGE_RETENTION_DAYS", 30.0, minimum=0.01),
        media_max_bytes=int(read.number("MEDIA_MAX_MB", 2048.0, minimum=1.0) * 1024 * 1024),
        job_deadline_seconds=60 * read.number("JOB_DEADLINE_MINUTES", 30.0, minimum=0.01),
        upload_limit_cap_bytes=(
            int(upload_limit_mb * 1024 * 1024) if upload_limit_mb is not None else None
        ),
        rivya_poll_seconds=read.seconds_list("RIVYA_POLL_SECONDS", DEFAULT_RIVYA_POLL),
        unified_poll_seconds=read.seconds_list("UNIFIED_POLL_SECONDS", DEFAULT_UNIFIED_POLL),
        provider_timeout_seconds=read.number("PROVIDER_TIMEOUT_SECONDS", 30.0, minimum=0.1),
        status_edit_interval_seconds=read.number("STATUS_EDIT_INTERVAL_SECONDS", 5.0, minimum=0),
        worker_concurrency=read.integer("WORKER_CONCURRENCY", 4, minimum=1) or 4,
        transcode_concurrency=read.integer("TRANSCODE_CONCURRENCY", 1, minimum=1) or 1,
        transcode_timeout_seconds=read.number("TRANSCODE_TIMEOUT_SECONDS", 300.0, minimum=1.0),
        poll_concurrency=read.integer("POLL_CONCURRENCY", 64, minimum=1) or 64,
        job_lease_seconds=read.number("JOB_LEASE_SECONDS", 60.0, minimum=1.0),
        shard_count=shard_count,
        shard_ids=shard_ids,
        min_poll_seconds=read.optional_number("MIN_POLL_SECONDS", minimum=0.01),
        dense_poll_seconds=read.number("DENSE_POLL_SECONDS", 5.0, minimum=0.01),
        log_level=log_level.upper(),
        log_format=read.choice("LOG_FORMAT", ("text", "json"), "text"),
        credit_warning=credit_warning,
        metrics_port=read.port("METRICS_PORT"),
        metrics_host=read.raw("METRICS_HOST") or "127.0.0.1",
        video_retention_days=read.number("VIDEO_RETENTION_DAYS", 30.0, minimum=0.01),
        video_max_bytes=int(read.number("VIDEO_MAX_MB", 10240.0, minimum=1.0) * 1024 * 1024),
        liveness_file=liveness_file,
        secrets=tuple(
            Secret(s)
            for s in (token, rivya_key, unified_key, *database_passwords(database_url))
            if s
        ),
    )
    if read.problems:
        raise SettingsError(read.problems)
    return settings
