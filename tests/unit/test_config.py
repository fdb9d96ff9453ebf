from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from bot.config import (
    Secret,
    SettingsError,
    database_path_from,
    database_url_from,
    load_settings,
)
from bot.settings_reader import quotes_problem
from bot.storage.urls import redact

BASE = {"DISCORD_TOKEN": "discord-token-value", "RIVYA_API_KEY": "rvya_sk_secretvalue"}


def test_defaults() -> None:
    settings = load_settings(BASE)
    assert settings.provider == "rivya"
    assert settings.model == "sora-2-pro"
    assert settings.rivya_base_url == "https://rivya.ai"
    assert str(settings.database_path).startswith("data")
    assert settings.quota_period == "day"
    assert settings.upload_limit_cap_bytes is None  # Discord's reported limit, as is
    assert settings.video_retention_days == 30
    assert settings.video_max_bytes == 10 * 1024 * 1024 * 1024
    assert settings.job_deadline_seconds == 1800
    assert settings.dev_guild_id is None
    assert settings.image_retention_days == 30
    assert settings.media_max_bytes == 2048 * 1024 * 1024


def test_every_problem_is_reported_once_with_its_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {
                "PROVIDER": "rivya",
                "QUOTA_PERIOD": "fortnight",
                "DEFAULT_QUOTA": "-1",
                "DEV_GUILD_ID": "abc",
                "RIVYA_POLL_SECONDS": "3,0",
                "QUOTA_TIMEZONE": "Mars/Olympus",
            }
        )
    problems = caught.value.problems
    for name in (
        "DISCORD_TOKEN",
        "RIVYA_API_KEY",
        "QUOTA_PERIOD",
        "DEFAULT_QUOTA",
        "DEV_GUILD_ID",
        "RIVYA_POLL_SECONDS",
        "QUOTA_TIMEZONE",
    ):
        assert sum(p.startswith(name) for p in problems) == 1, (name, problems)


def test_unified_needs_its_own_url_and_key() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"DISCORD_TOKEN": "x", "PROVIDER": "unified"})
    text = " ".join(caught.value.problems)
    assert "UNIFIED_BASE_URL" in text and "UNIFIED_API_KEY" in text


def test_secrets_never_show_in_repr_or_errors() -> None:
    settings = load_settings(BASE)
    assert "discord-token-value" not in repr(settings)
    assert "rvya_sk_secretvalue" not in repr(settings)
    assert "secretvalue" not in str(Secret("secretvalue"))
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, "RIVYA_BASE_URL": "ftp://x"})
    assert "rvya_sk" not in str(caught.value)


def test_moderation_and_abuse_control_defaults() -> None:
    settings = load_settings(BASE)
    assert settings.mod_role_ids == ()
    assert settings.quota_log_channel_id is None
    assert settings.submit_cooldown_seconds == 30
    assert settings.max_active_jobs_per_guild == 10


def test_moderation_settings_are_read() -> None:
    settings = load_settings(
        {
            **BASE,
            "MOD_ROLE_IDS": " 111111111111111111, 222222222222222222 ,111111111111111111",
            "QUOTA_LOG_CHANNEL_ID": "333333333333333333",
            "SUBMIT_COOLDOWN_SECONDS": "0",
            "MAX_ACTIVE_JOBS_PER_GUILD": "3",
        }
    )
    assert settings.mod_role_ids == (111111111111111111, 222222222222222222)
    assert settings.quota_log_channel_id == 333333333333333333
    assert settings.submit_cooldown_seconds == 0
    assert settings.max_active_jobs_per_guild == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MOD_ROLE_IDS", "123,moderators"),
        ("MOD_ROLE_IDS", "123,-4"),
        ("MOD_ROLE_IDS", "１２３"),  # full-width digits are not an id
        ("QUOTA_LOG_CHANNEL_ID", "#mod-log"),
        ("SUBMIT_COOLDOWN_SECONDS", "-1"),
        ("MAX_ACTIVE_JOBS_PER_GUILD", "0"),
        ("MAX_QUEUED_JOBS_PER_MEMBER", "0"),
        ("MAX_QUEUED_JOBS_PER_GUILD", "-1"),
        ("MAX_QUEUED_JOBS_PER_GUILD", "many"),
        ("PROVIDER_MAX_ACTIVE_JOBS", "0"),
    ],
)
def test_invalid_moderation_settings_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, name: value})
    assert [p.split()[0] for p in caught.value.problems] == [name]


def test_the_queue_is_on_by_default_and_zero_turns_it_off() -> None:
    settings = load_settings(BASE)
    assert (settings.max_queued_jobs_per_member, settings.max_queued_jobs_per_guild) == (3, 50)
    assert settings.provider_max_active_jobs is None
    chosen = load_settings(
        {
            **BASE,
            "MAX_QUEUED_JOBS_PER_MEMBER": "1",
            "MAX_QUEUED_JOBS_PER_GUILD": "0",
            "PROVIDER_MAX_ACTIVE_JOBS": "8",
        }
    )
    assert (chosen.max_queued_jobs_per_member, chosen.max_queued_jobs_per_guild) == (1, 0)
    assert chosen.provider_max_active_jobs == 8


def test_compression_settings() -> None:
    defaults = load_settings(BASE)
    assert defaults.transcode_concurrency == 1
    assert defaults.transcode_timeout_seconds == 300
    chosen = load_settings(
        {**BASE, "TRANSCODE_CONCURRENCY": "2", "TRANSCODE_TIMEOUT_SECONDS": "90.5"}
    )
    assert chosen.transcode_concurrency == 2
    assert chosen.transcode_timeout_seconds == 90.5


def test_polling_defaults_follow_the_backend_schedule() -> None:
    rivya = load_settings(BASE)
    assert rivya.poll_concurrency == 64
    assert rivya.worker_concurrency == 4
    assert rivya.dense_poll_seconds == 5
    assert rivya.min_poll_seconds is None
    assert rivya.min_poll_gap == 3  # the smallest gap of the Rivya schedule
    unified = load_settings(
        {
            "DISCORD_TOKEN": "t",
            "PROVIDER": "unified",
            "UNIFIED_API_KEY": "k",
            "UNIFIED_BASE_URL": "https://api.example.com",
        }
    )
    assert unified.min_poll_gap == 30


def test_polling_settings_are_read() -> None:
    settings = load_settings(
        {
            **BASE,
            "POLL_CONCURRENCY": "200",
            "MIN_POLL_SECONDS": "0.5",
            "DENSE_POLL_SECONDS": "4",
        }
    )
    assert settings.poll_concurrency == 200
    assert settings.min_poll_gap == 0.5
    assert settings.dense_poll_seconds == 4


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRANSCODE_CONCURRENCY", "0"),
        ("TRANSCODE_CONCURRENCY", "two"),
        ("TRANSCODE_TIMEOUT_SECONDS", "0.5"),
        ("TRANSCODE_TIMEOUT_SECONDS", "soon"),
        ("POLL_CONCURRENCY", "0"),
        ("POLL_CONCURRENCY", "many"),
        ("MIN_POLL_SECONDS", "0"),
        ("MIN_POLL_SECONDS", "soon"),
        ("DENSE_POLL_SECONDS", "-2"),
    ],
)
def test_invalid_compression_and_polling_settings_name_their_variable(
    name: str, value: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, name: value})
    assert [p.split()[0] for p in caught.value.problems] == [name]


def test_the_liveness_file_sits_next_to_the_database_unless_set() -> None:
    assert load_settings(BASE).liveness_file == Path("data/liveness.json")
    moved = load_settings(BASE | {"DATABASE_PATH": "/data/sora-bot.sqlite3"})
    assert moved.liveness_file == Path("/data/liveness.json")
    own = load_settings(BASE | {"LIVENESS_FILE": "/run/sora/liveness.json"})
    assert own.liveness_file == Path("/run/sora/liveness.json")


def test_metrics_are_off_unless_a_port_is_set() -> None:
    settings = load_settings(BASE)
    assert settings.metrics_port is None and settings.metrics_host == "127.0.0.1"
    on = load_settings(BASE | {"METRICS_PORT": "9108", "METRICS_HOST": "0.0.0.0"})
    assert (on.metrics_port, on.metrics_host) == (9108, "0.0.0.0")


@pytest.mark.parametrize("value", ["0", "65536", "http", "-1"])
def test_an_invalid_metrics_port_is_named(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(BASE | {"METRICS_PORT": value})
    assert caught.value.problems == [
        f"METRICS_PORT must be a port number from 1 to 65535 (got {value!r})."
    ]


def test_the_database_is_sqlite_at_database_path_unless_database_url_says_otherwise() -> None:
    assert load_settings(BASE).database_url == "sqlite:///data/sora-bot.sqlite3"
    moved = load_settings({**BASE, "DATABASE_PATH": "/srv/bot.sqlite3"})
    assert moved.database_url == "sqlite:////srv/bot.sqlite3"
    url = "postgresql://sora:hunter22@db:5432/sora"
    settings = load_settings({**BASE, "DATABASE_URL": url})
    assert settings.database_url == url
    # The password is scrubbed from logs like the keys, and kept out of the settings' repr.
    assert Secret("hunter22") in settings.secrets
    assert "hunter22" not in repr(settings)


PASSWORD = "p@ss:w/rd#1%"


def test_the_database_password_may_come_apart_from_the_url() -> None:
    settings = load_settings(
        BASE | {"DATABASE_URL": "postgresql://sora@db:5432/sora", "DATABASE_PASSWORD": PASSWORD}
    )
    assert settings.database_url == "postgresql://sora:p%40ss%3Aw%2Frd%231%25@db:5432/sora"
    assert urlsplit(settings.database_url).hostname == "db"
    assert unquote(urlsplit(settings.database_url).password or "") == PASSWORD
    # Scrubbed from logs as written and as escaped; never in the settings' repr.
    assert {Secret(PASSWORD), Secret("p%40ss%3Aw%2Frd%231%25")} <= set(settings.secrets)
    assert PASSWORD not in repr(settings) and "p%40ss" not in repr(settings)
    assert redact(settings.database_url) == "postgresql://sora:***@db:5432/sora"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "DATABASE_PASSWORD is for PostgreSQL"),
        ({"DATABASE_URL": "sqlite:///data/bot.sqlite3"}, "DATABASE_PASSWORD is for PostgreSQL"),
        ({"DATABASE_URL": "postgresql://sora:other@db/sora"}, "keep one of them"),
        ({"DATABASE_URL": "postgresql://db/sora"}, "must name the user"),
    ],
)
def test_a_database_password_that_cannot_apply_is_named(env: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(BASE | env | {"DATABASE_PASSWORD": PASSWORD})
    assert len(caught.value.problems) == 1 and expected in caught.value.problems[0]
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mysql://db/sora", "must start with sqlite:/// or postgresql://"),
        ("sqlite://relative.db", "sqlite:///relative/path"),
        ("postgresql:///sora", "must name a server"),
    ],
)
def test_an_unusable_database_url_is_named(value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, "DATABASE_URL": value})
    assert expected in str(caught.value)


def test_sharding_is_off_unless_shard_count_is_set() -> None:
    settings = load_settings(BASE)
    assert (settings.shard_count, settings.shard_ids) == (None, None)
    auto = load_settings({**BASE, "SHARD_COUNT": "auto"})
    assert (auto.shard_count, auto.shard_ids) == (0, None)
    slice_ = load_settings({**BASE, "SHARD_COUNT": "4", "SHARD_IDS": "2, 3"})
    assert (slice_.shard_count, slice_.shard_ids) == (4, (2, 3))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SHARD_IDS": "0"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "2"}, "shard numbers from 0 to 1"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT must be at least 1"),
    ],
)
def test_invalid_shard_settings_are_named(env: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, **env})
    assert expected in str(caught.value)


def test_media_floor_show_cooldown_and_encoder_limits_have_defaults() -> None:
    settings = load_settings(BASE)
    assert settings.media_min_free_bytes == 1024 * 1024 * 1024
    assert settings.show_cooldown_seconds == 60
    assert settings.encoder_memory_bytes == 2048 * 1024 * 1024
    assert settings.encoder_cpu_seconds == 600  # twice TRANSCODE_TIMEOUT_SECONDS
    assert settings.encoder_output_margin == 0.5
    assert (settings.max_video_side, settings.max_video_seconds) == (4096, 120)
    assert load_settings(BASE | {"TRANSCODE_TIMEOUT_SECONDS": "90.5"}).encoder_cpu_seconds == 181


def test_media_floor_show_cooldown_and_encoder_limits_are_read() -> None:
    settings = load_settings(
        BASE
        | {
            "MEDIA_MIN_FREE_MB": "4096",
            "SHOW_COOLDOWN_SECONDS": "0",
            "ENCODER_MEMORY_MB": "1024",
            "ENCODER_CPU_SECONDS": "120",
            "ENCODER_OUTPUT_MARGIN_PERCENT": "20",
            "MAX_VIDEO_SIDE": "1920",
            "MAX_VIDEO_SECONDS": "30",
        }
    )
    assert settings.media_min_free_bytes == 4096 * 1024 * 1024
    assert settings.show_cooldown_seconds == 0
    assert settings.encoder_memory_bytes == 1024 * 1024 * 1024
    assert settings.encoder_cpu_seconds == 120
    assert settings.encoder_output_margin == 0.2
    assert (settings.max_video_side, settings.max_video_seconds) == (1920, 30)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MEDIA_MIN_FREE_MB", "10"),
        ("MEDIA_MIN_FREE_MB", "lots"),
        ("SHOW_COOLDOWN_SECONDS", "-1"),
        ("ENCODER_MEMORY_MB", "100"),
        ("ENCODER_CPU_SECONDS", "0"),
        ("ENCODER_CPU_SECONDS", "1.5"),
        ("ENCODER_OUTPUT_MARGIN_PERCENT", "-5"),
        ("MAX_VIDEO_SIDE", "8"),
        ("MAX_VIDEO_SECONDS", "0"),
    ],
)
def test_invalid_media_and_encoder_settings_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, name: value})
    assert [p.split()[0] for p in caught.value.problems] == [name]


def test_upload_limit_cap_and_video_retention_are_read() -> None:
    settings = load_settings(
        BASE | {"UPLOAD_LIMIT_MB": "25", "VIDEO_RETENTION_DAYS": "7", "VIDEO_MAX_MB": "512"}
    )
    assert settings.upload_limit_cap_bytes == 25 * 1024 * 1024
    assert settings.video_retention_days == 7
    assert settings.video_max_bytes == 512 * 1024 * 1024
    with pytest.raises(SettingsError) as error:
        load_settings(BASE | {"UPLOAD_LIMIT_MB": "0.5", "VIDEO_MAX_MB": "none"})
    assert any("UPLOAD_LIMIT_MB" in problem for problem in error.value.problems)
    assert any("VIDEO_MAX_MB" in problem for problem in error.value.problems)


def test_the_web_is_off_until_web_port_is_set() -> None:
    assert load_settings(BASE).web is None


def test_the_web_needs_its_public_address_and_the_client_secret() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(BASE | {"WEB_PORT": "8080"})
    text = " ".join(caught.value.problems)
    assert "WEB_BASE_URL is missing" in text and "DISCORD_CLIENT_SECRET is missing" in text
    for bad in ("videos.example.org", "https://videos.example.org/gallery", "ftp://x", "https://"):
        with pytest.raises(SettingsError) as caught:
            load_settings(
                BASE | {"WEB_PORT": "8080", "WEB_BASE_URL": bad, "DISCORD_CLIENT_SECRET": "s"}
            )
        assert any(p.startswith("WEB_BASE_URL") for p in caught.value.problems), bad
    with pytest.raises(SettingsError) as caught:
        load_settings(BASE | {"WEB_BASE_URL": "https://videos.example.org"})
    assert "WEB_PORT" in caught.value.problems[0]


def test_web_settings_and_their_defaults() -> None:
    settings = load_settings(
        BASE
        | {
            "WEB_PORT": "8080",
            "WEB_BASE_URL": "https://videos.example.org/",
            "DISCORD_CLIENT_SECRET": "client-secret-value",
        }
    )
    web = settings.web
    assert web is not None and web.port == 8080 and web.host == "127.0.0.1"
    assert web.redirect_uri == "https://videos.example.org/auth/callback" and web.secure
    assert web.oauth_url == "https://discord.com/oauth2/authorize"
    assert web.api_url == "https://discord.com/api/v10"
    assert web.cache_seconds == 15
    assert [str(n) for n in web.trusted_proxies] == ["127.0.0.0/8", "::1/128"]  # loopback
    assert Secret("client-secret-value") in settings.secrets
    assert "client-secret-value" not in repr(settings)


def trusted_proxies(value: str) -> list[str]:
    web = load_settings(BASE | WEB_ON | {"WEB_TRUSTED_PROXIES": value}).web
    assert web is not None
    return [str(network) for network in web.trusted_proxies]


def test_trusted_proxies_are_addresses_and_networks() -> None:
    assert trusted_proxies("172.18.0.1") == ["172.18.0.1/32"]
    assert trusted_proxies(" 172.18.0.0/16 , 10.0.0.5,fd00::/8,::1, ") == [
        "172.18.0.0/16",
        "10.0.0.5/32",
        "fd00::/8",
        "::1/128",
    ]
    # An address with a prefix means the network it is in; a repeat is read once.
    assert trusted_proxies("172.18.0.1/16,172.18.0.0/16") == ["172.18.0.0/16"]
    # IPv4 written as IPv6 (as a dual-stack socket reports it) is that IPv4 network.
    assert trusted_proxies("::ffff:172.18.0.1,::ffff:10.0.0.0/104") == [
        "172.18.0.1/32",
        "10.0.0.0/8",
    ]
    web = load_settings(BASE | WEB_ON | {"WEB_TRUSTED_PROXIES": "172.18.0.1"}).web
    assert web is not None and ipaddress.ip_address("172.18.0.1") in web.trusted_proxies[0]


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("proxy.example.org", "'proxy.example.org'"),
        ("172.18.0.1, localhost, 10.0.0.0/33", "'localhost', '10.0.0.0/33'"),
        ("172.18.0.1:8080", "'172.18.0.1:8080'"),
        ("172.18.0.1 10.0.0.1", "'172.18.0.1 10.0.0.1'"),  # commas between entries
        ("*", "'*'"),
        (",", "','"),
    ],
)
def test_an_invalid_trusted_proxy_is_named_with_its_setting(value: str, named: str) -> None:
    for web in (WEB_ON, {}):  # checked even while the web is off
        with pytest.raises(SettingsError) as caught:
            load_settings(BASE | web | {"WEB_TRUSTED_PROXIES": value})
        assert caught.value.problems == [
            "WEB_TRUSTED_PROXIES must be a comma-separated list of IP addresses or networks, "
            f"e.g. 172.18.0.1,10.0.0.0/8 (not an address or network: {named})."
        ]


# A valid value of every setting (with what it needs beside it), to wrap in quotes.
VALID = {
    "DISCORD_TOKEN": "discord-token-value",
    "PROVIDER": "rivya",
    "RIVYA_API_KEY": "rvya_sk_secretvalue",
    "RIVYA_BASE_URL": "https://rivya.ai",
    "MODEL": "sora-2-pro",
    "UNIFIED_BASE_URL": "https://api.example.com",
    "UNIFIED_API_KEY": "sk-unified",
    "DATABASE_PATH": "/data/sora-bot.sqlite3",
    "DATABASE_URL": "postgresql://sora:hunter22@db:5432/sora",
    "DATABASE_PASSWORD": "hunter22",
    "SHARD_COUNT": "2",
    "SHARD_IDS": "1",
    "JOB_LEASE_SECONDS": "60",
    "MEDIA_DIR": "/data/media",
    "LIVENESS_FILE": "/data/liveness-shard-1.json",
    "DEV_GUILD_ID": "123456789012345678",
    "ALLOWED_GUILD_IDS": "123456789012345678,234567890123456789",
    "MAX_QUOTA_LIMIT": "50",
    "DAILY_VIDEO_BUDGET": "200",
    "DEFAULT_QUOTA": "5",
    "QUOTA_PERIOD": "week",
    "QUOTA_TIMEZONE": "Europe/Paris",
    "MAX_ACTIVE_JOBS_PER_MEMBER": "2",
    "MAX_ACTIVE_JOBS_PER_GUILD": "10",
    "MAX_QUEUED_JOBS_PER_MEMBER": "3",
    "MAX_QUEUED_JOBS_PER_GUILD": "50",
    "PROVIDER_MAX_ACTIVE_JOBS": "20",
    "SUBMIT_COOLDOWN_SECONDS": "30",
    "MOD_ROLE_IDS": "123456789012345678,234567890123456789",
    "QUOTA_LOG_CHANNEL_ID": "123456789012345678",
    "JOB_DEADLINE_MINUTES": "30",
    "UPLOAD_LIMIT_MB": "25",
    "RIVYA_POLL_SECONDS": "3,5,10",
    "UNIFIED_POLL_SECONDS": "30,60",
    "PROVIDER_TIMEOUT_SECONDS": "30",
    "STATUS_EDIT_INTERVAL_SECONDS": "5",
    "WORKER_CONCURRENCY": "4",
    "TRANSCODE_CONCURRENCY": "1",
    "TRANSCODE_TIMEOUT_SECONDS": "300",
    "POLL_CONCURRENCY": "64",
    "MIN_POLL_SECONDS": "3",
    "DENSE_POLL_SECONDS": "5",
    "IMAGE_RETENTION_DAYS": "30",
    "MEDIA_MAX_MB": "2048",
    "VIDEO_RETENTION_DAYS": "30",
    "VIDEO_MAX_MB": "10240",
    "MEDIA_MIN_FREE_MB": "1024",
    "SHOW_COOLDOWN_SECONDS": "60",
    "ENCODER_MEMORY_MB": "2048",
    "ENCODER_CPU_SECONDS": "600",
    "ENCODER_OUTPUT_MARGIN_PERCENT": "50",
    "MAX_VIDEO_SIDE": "4096",
    "MAX_VIDEO_SECONDS": "120",
    "LOG_LEVEL": "debug",
    "LOG_FORMAT": "json",
    "CREDIT_WARNING": "100",
    "METRICS_PORT": "9108",
    "METRICS_HOST": "0.0.0.0",
    "WEB_PORT": "8080",
    "WEB_HOST": "0.0.0.0",
    "WEB_BASE_URL": "https://videos.example.org",
    "DISCORD_CLIENT_SECRET": "client-secret-value",
    "WEB_PERMISSION_CACHE_SECONDS": "15",
    "WEB_TRUSTED_PROXIES": "172.18.0.1,10.0.0.0/8",
    "DISCORD_OAUTH_URL": "https://discord.com/oauth2/authorize",
    "DISCORD_API_URL": "https://discord.com/api/v10",
}
# The web settings are read when the web is on, which takes these three.
WEB_ON = {
    "WEB_PORT": "8080",
    "WEB_BASE_URL": "https://videos.example.org",
    "DISCORD_CLIENT_SECRET": "client-secret-value",
}
NEEDS = {
    "SHARD_IDS": {"SHARD_COUNT": "2"},
    "DATABASE_PASSWORD": {"DATABASE_URL": "postgresql://sora@db:5432/sora"},
    **{
        name: WEB_ON
        for name in VALID
        if name.startswith(("WEB_", "DISCORD_")) and name != "DISCORD_TOKEN"
    },
}
# Read by Compose for its PostgreSQL service, not by the bot.
NOT_THE_BOTS = {"POSTGRES_PASSWORD"}


def test_every_documented_setting_has_a_valid_example_here() -> None:
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    documented = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", example, re.M)) - NOT_THE_BOTS
    assert documented == VALID.keys()


@pytest.mark.parametrize("name", sorted(VALID))
@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_quoted_value_says_to_remove_the_quotes(name: str, quote: str) -> None:
    """`docker run --env-file` keeps quotes that python-dotenv would strip: each setting says
    so, once, without showing the value (it may be a secret)."""
    env = BASE | NEEDS.get(name, {}) | {name: VALID[name]}
    load_settings(env)  # the value itself is valid
    with pytest.raises(SettingsError) as caught:
        load_settings(env | {name: f" {quote}{VALID[name]}{quote} "})
    assert caught.value.problems == [quotes_problem(name)]
    assert "remove the quotes around the value in .env" in caught.value.problems[0]
    assert VALID[name] not in str(caught.value)


@pytest.mark.parametrize("value", ['"', "'x\"", "a'b'", '"a"b'])
def test_quotes_that_do_not_wrap_the_value_are_read_as_they_are(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(BASE | {"QUOTA_TIMEZONE": value})
    assert caught.value.problems == [
        f"QUOTA_TIMEZONE must be an IANA time zone such as UTC or Europe/Paris (got {value!r})."
    ]


def test_an_empty_quoted_value_is_named_too() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(BASE | {"DEV_GUILD_ID": '""'})
    assert caught.value.problems == [quotes_problem("DEV_GUILD_ID")]


def test_the_database_commands_refuse_a_quoted_location() -> None:
    with pytest.raises(ValueError, match="DATABASE_PATH is wrapped in quotes"):
        database_url_from({"DATABASE_PATH": "'/data/sora-bot.sqlite3'"})
    with pytest.raises(ValueError, match="DATABASE_URL is wrapped in quotes"):
        database_url_from({"DATABASE_URL": '"postgresql://sora@db/sora"'})
    with pytest.raises(ValueError, match="DATABASE_PATH is wrapped in quotes"):
        database_path_from({"DATABASE_PATH": '"/data/sora-bot.sqlite3"'})
