"""Settings from the environment (and `.env`), validated once at start-up.

Every problem is collected, not just the first, so an operator fixes them all in one go.
Secrets are wrapped in `Secret` so they never reach a log line, a message or a traceback.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings_reader import IPNetwork, SettingsReader

QUOTA_PERIODS = ("day", "week", "month")
MiB = 1024 * 1024
# Below this the encoder process cannot even load its libraries and a 1080p picture.
ENCODER_MEMORY_MIN_MB = 512
# A floor smaller than this leaves the database no room worth the name.
MEDIA_MIN_FREE_MIN_MB = 64
PROVIDERS = ("rivya", "unified")
DEFAULT_MAX_QUOTA_LIMIT = 1000
# The most MAX_QUOTA_LIMIT may be: what a Discord option can carry without surprises.
HIGHEST_QUOTA_LIMIT = 1_000_000


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


def serves_guild(allowed_guild_ids: Collection[int], guild_id: int) -> bool:
    """One of the servers the operator chose, or any server when they chose none."""
    return not allowed_guild_ids or guild_id in allowed_guild_ids


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
    # Media never takes the disk below this (the database usually shares it).
    media_min_free_bytes: int = 1024 * MiB
    # Least time between two /sora-show of one video by one member in one channel.
    show_cooldown_seconds: float = 60.0
    # What one encoder process may use, and the largest video it decodes.
    encoder_memory_bytes: int = 2048 * MiB
    encoder_cpu_seconds: int = 600
    encoder_output_margin: float = 0.5  # the fitted file may be this much over the limit
    max_video_side: int = 4096
    max_video_seconds: float = 120.0
    web: WebSettings | None = None  # None: no web gallery or dashboard (WEB_PORT unset)
    # The running bot's liveness, read by `sora-bot check --health` (bot/ops/liveness_file.py).
    liveness_file: Path = Path("data/liveness.json")
    # What the operator allows, whatever the moderators of a server do: the servers the bot
    # stays in (empty: any), the highest limit or grant a moderator may set, and the most
    # videos accepted per day across the deployment (None: no budget).
    allowed_guild_ids: tuple[int, ...] = ()
    max_quota_limit: int = DEFAULT_MAX_QUOTA_LIMIT
    daily_video_budget: int | None = None
    secrets: tuple[Secret, ...] = field(default=(), repr=False)

    @property
    def provider_api_key(self) -> Secret | None:
        return self.rivya_api_key if self.provider == "rivya" else self.unified_api_key

    def serves(self, guild_id: int) -> bool:
        """Whether the bot serves this server, in Discord and on the web (ALLOWED_GUILD_IDS)."""
        return serves_guild(self.allowed_guild_ids, guild_id)

    @property
    def provider_base_url(self) -> str | None:
        """The active backend's base URL."""
        return self.rivya_base_url if self.provider == "rivya" else self.unified_base_url

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


# A reverse proxy on this machine: the only one believed unless WEB_TRUSTED_PROXIES says.
DEFAULT_WEB_TRUSTED_PROXIES = "127.0.0.0/8,::1"
LOOPBACK: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(part) for part in DEFAULT_WEB_TRUSTED_PROXIES.split(",")
)


@dataclass(frozen=True)
class WebSettings:
    """The web gallery and dashboard (bot/web/), on when WEB_PORT is set."""

    port: int
    host: str
    base_url: str  # the public address, e.g. https://videos.example.org (no path)
    client_secret: Secret  # the Discord application's OAuth2 client secret
    oauth_url: str  # Discord's authorize page
    api_url: str  # Discord's REST API, for sign-in and membership and permission checks
    # How long a member's roles and a server's channels read from Discord are reused.
    cache_seconds: float = 15.0
    # The reverse proxies whose X-Forwarded-For names the browser (bot/web/security.py).
    trusted_proxies: tuple[IPNetwork, ...] = LOOPBACK

    @property
    def redirect_uri(self) -> str:
        """Where Discord sends members back after they approve the sign-in."""
        return f"{self.base_url}/auth/callback"

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")


DEFAULT_DISCORD_OAUTH_URL = "https://discord.com/oauth2/authorize"
DEFAULT_DISCORD_API_URL = "https://discord.com/api/v10"


def _web_settings(read: SettingsReader) -> WebSettings | None:
    """WEB_* and the Discord application's OAuth2 settings; None when WEB_PORT is unset."""
    port = read.port("WEB_PORT")
    oauth_url = read.url("DISCORD_OAUTH_URL", DEFAULT_DISCORD_OAUTH_URL)
    api_url = read.url("DISCORD_API_URL", DEFAULT_DISCORD_API_URL)
    cache_seconds = read.number("WEB_PERMISSION_CACHE_SECONDS", 15.0, minimum=0)
    trusted_proxies = read.networks("WEB_TRUSTED_PROXIES", DEFAULT_WEB_TRUSTED_PROXIES)
    if port is None:
        if read.raw("WEB_PORT") is None and read.raw("WEB_BASE_URL"):
            read.problems.append(
                "WEB_BASE_URL is set but WEB_PORT is not: set WEB_PORT (e.g. 8080) to serve "
                "the web gallery, or leave WEB_BASE_URL empty."
            )
        return None
    base_url = read.raw("WEB_BASE_URL")
    if base_url is None:
        read.problems.append(
            "WEB_BASE_URL is missing: expected the web gallery's public address, e.g. "
            "https://videos.example.org (Discord sends members back to it after sign-in)."
        )
    elif not _is_origin(base_url.rstrip("/")):
        read.problems.append(
            "WEB_BASE_URL must be an http:// or https:// address without a path, query or "
            f"fragment, e.g. https://videos.example.org (got {base_url!r})."
        )
    secret = read.raw("DISCORD_CLIENT_SECRET")
    if secret is None:
        read.problems.append(
            "DISCORD_CLIENT_SECRET is missing: the web gallery signs members in with Discord; "
            "copy the client secret from the developer portal (OAuth2 page)."
        )
    return WebSettings(
        port=port,
        host=read.raw("WEB_HOST") or "127.0.0.1",
        base_url=(base_url or "").rstrip("/"),
        client_secret=Secret(secret or ""),
        oauth_url=oauth_url or DEFAULT_DISCORD_OAUTH_URL,
        api_url=api_url or DEFAULT_DISCORD_API_URL,
        cache_seconds=cache_seconds,
        trusted_proxies=trusted_proxies,
    )


def _is_origin(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path == ""
        and not parts.query
        and not parts.fragment
        and parts.username is None
    )


DEFAULT_DATABASE_PATH = "./data/sora-bot.sqlite3"


def database_path_from(env: Mapping[str, str]) -> Path:
    """DATABASE_PATH, or its default; needs no other setting (used by `sora-bot backup`).
    Raises `ValueError` for a quoted value."""
    read = SettingsReader(env)
    path = _database_path(read)
    _raise_first(read)
    return path


def _database_path(read: SettingsReader) -> Path:
    return Path(read.raw("DATABASE_PATH") or DEFAULT_DATABASE_PATH)


def database_url_from(env: Mapping[str, str]) -> str:
    """DATABASE_URL, or SQLite at DATABASE_PATH (the default, as before DATABASE_URL existed).
    Raises `DatabaseUrlError` for a URL this bot cannot use, `ValueError` for a quoted value."""
    read = SettingsReader(env)
    url = _database_url(read)
    _raise_first(read)
    return url


def _raise_first(read: SettingsReader) -> None:
    """For the commands that read one or two settings alone: their first problem, if any."""
    if read.problems:
        raise ValueError(read.problems[0])


def _database_url(read: SettingsReader) -> str:
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
    """The passwords inside a PostgreSQL DATABASE_URL, as written there and unescaped, after
    the user name or as `?password=`: all are scrubbed from logs like the keys."""
    from bot.storage.urls import passwords_in

    return passwords_in(url) if url.startswith("postgres") else ()


def _or(value: int | None, default: int) -> int:
    """A whole-number setting whose 0 means something (unlike `x or default`)."""
    return default if value is None else value


DEFAULT_RIVYA_POLL = "3,5,5,5,5,5,10,10,10,10,15,15,20,30"
DEFAULT_UNIFIED_POLL = "30,30,45,60"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from `env` (default: `os.environ`); raise `SettingsError` on problems."""
    read = SettingsReader(os.environ if env is None else env)

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

    transcode_timeout = read.number("TRANSCODE_TIMEOUT_SECONDS", 300.0, minimum=1.0)
    web = _web_settings(read)
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
        transcode_timeout_seconds=transcode_timeout,
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
        media_min_free_bytes=int(
            read.number("MEDIA_MIN_FREE_MB", 1024.0, minimum=MEDIA_MIN_FREE_MIN_MB) * MiB
        ),
        show_cooldown_seconds=read.number("SHOW_COOLDOWN_SECONDS", 60.0, minimum=0),
        encoder_memory_bytes=int(
            read.number("ENCODER_MEMORY_MB", 2048.0, minimum=ENCODER_MEMORY_MIN_MB) * MiB
        ),
        encoder_cpu_seconds=read.integer(
            "ENCODER_CPU_SECONDS", math.ceil(2 * transcode_timeout), minimum=1
        )
        or 1,
        encoder_output_margin=read.number("ENCODER_OUTPUT_MARGIN_PERCENT", 50.0, minimum=0) / 100,
        max_video_side=read.integer("MAX_VIDEO_SIDE", 4096, minimum=16) or 4096,
        max_video_seconds=read.number("MAX_VIDEO_SECONDS", 120.0, minimum=1.0),
        web=web,
        liveness_file=liveness_file,
        allowed_guild_ids=read.id_list("ALLOWED_GUILD_IDS"),
        max_quota_limit=read.bounded(
            "MAX_QUOTA_LIMIT", DEFAULT_MAX_QUOTA_LIMIT, minimum=1, maximum=HIGHEST_QUOTA_LIMIT
        ),
        daily_video_budget=read.integer("DAILY_VIDEO_BUDGET", None, minimum=1),
        secrets=tuple(
            Secret(s)
            for s in (
                token,
                rivya_key,
                unified_key,
                *database_passwords(database_url),
                web.client_secret.reveal() if web else None,
            )
            if s
        ),
    )
    allowed = settings.allowed_guild_ids
    if allowed and settings.dev_guild_id is not None and settings.dev_guild_id not in allowed:
        read.problems.append(
            f"DEV_GUILD_ID ({settings.dev_guild_id}) is not in ALLOWED_GUILD_IDS: the bot would "
            "sync its commands to a server it leaves. Add it there, or change DEV_GUILD_ID."
        )
    if read.problems:
        raise SettingsError(read.problems)
    return settings
