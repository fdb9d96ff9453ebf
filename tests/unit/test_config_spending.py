"""The operator's limits on who can spend the video credits, and the secrets around them."""

from __future__ import annotations

import pytest

from bot.config import HIGHEST_QUOTA_LIMIT, SettingsError, load_settings
from bot.logging_setup import Scrubber
from bot.storage.urls import parse_target, passwords_in, redact

BASE = {"DISCORD_TOKEN": "discord-token-value", "RIVYA_API_KEY": "rvya_sk_secretvalue"}


def problems_of(**env: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(BASE | env)
    return caught.value.problems


def test_defaults_leave_servers_open_with_a_ceiling_of_1000_and_no_budget() -> None:
    settings = load_settings(BASE)
    assert settings.allowed_guild_ids == ()
    assert settings.max_quota_limit == 1000
    assert settings.daily_video_budget is None


def test_the_operator_chooses_servers_ceiling_and_budget() -> None:
    settings = load_settings(
        BASE
        | {
            "ALLOWED_GUILD_IDS": " 123456789012345678, 234567890123456789 ,123456789012345678",
            "MAX_QUOTA_LIMIT": "20",
            "DAILY_VIDEO_BUDGET": "50",
        }
    )
    assert settings.allowed_guild_ids == (123456789012345678, 234567890123456789)
    assert settings.max_quota_limit == 20
    assert settings.daily_video_budget == 50
    assert settings.serves(234567890123456789) and not settings.serves(345678901234567890)
    assert load_settings(BASE).serves(345678901234567890)  # unset: any server


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("ALLOWED_GUILD_IDS", "my-server", "ALLOWED_GUILD_IDS must be a comma-separated list"),
        ("ALLOWED_GUILD_IDS", "12,-3", "ALLOWED_GUILD_IDS must be a comma-separated list"),
        ("MAX_QUOTA_LIMIT", "0", "MAX_QUOTA_LIMIT must be at least 1 (got 0)."),
        ("MAX_QUOTA_LIMIT", "lots", "MAX_QUOTA_LIMIT must be a whole number (got 'lots')."),
        (
            "MAX_QUOTA_LIMIT",
            str(HIGHEST_QUOTA_LIMIT + 1),
            "MAX_QUOTA_LIMIT must be at most 1,000,000 (got 1,000,001).",
        ),
        ("DAILY_VIDEO_BUDGET", "0", "DAILY_VIDEO_BUDGET must be at least 1 (got 0)."),
        ("DAILY_VIDEO_BUDGET", "1.5", "DAILY_VIDEO_BUDGET must be a whole number (got '1.5')."),
    ],
)
def test_invalid_limits_are_named(name: str, value: str, expected: str) -> None:
    problems = problems_of(**{name: value})
    assert len(problems) == 1
    assert problems[0].startswith(expected), problems


@pytest.mark.parametrize(
    "url",
    [
        "https://rivya.ai",
        "HTTPS://rivya.ai/",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:3000",
        "http://[::1]:8080",
    ],
)
def test_provider_addresses_are_https_or_this_machine(url: str) -> None:
    assert load_settings(BASE | {"RIVYA_BASE_URL": url}).rivya_base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://rivya.ai",
        "http://10.0.0.5:8080",
        "http://localhost.example.com",
        "ftp://rivya.ai",
        "https://",
        "rivya.ai",
    ],
)
def test_a_key_is_never_sent_over_plain_http_to_another_machine(url: str) -> None:
    (problem,) = problems_of(RIVYA_BASE_URL=url)
    assert problem.startswith("RIVYA_BASE_URL must start with https://"), problem
    unified = {"PROVIDER": "unified", "UNIFIED_API_KEY": "sk-x", "UNIFIED_BASE_URL": url}
    assert any(p.startswith("UNIFIED_BASE_URL must") for p in problems_of(**unified))


def test_the_web_talks_to_discord_over_https_unless_on_this_machine() -> None:
    """The bot token and the client secret go to DISCORD_API_URL; sign-ins to the other."""
    web = {"WEB_PORT": "8080", "WEB_BASE_URL": "https://v.example", "DISCORD_CLIENT_SECRET": "s"}
    for name in ("DISCORD_API_URL", "DISCORD_OAUTH_URL"):
        (problem,) = problems_of(**web, **{name: "http://discord-proxy.example"})
        assert problem.startswith(f"{name} must start with https://"), problem
    local = load_settings(BASE | web | {"DISCORD_API_URL": "http://127.0.0.1:9000/api"})
    assert local.web is not None and local.web.api_url == "http://127.0.0.1:9000/api"


def test_the_address_in_the_problem_hides_its_password() -> None:
    (problem,) = problems_of(RIVYA_BASE_URL="http://user:hunter2-pass@rivya.ai")
    assert "hunter2-pass" not in problem


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql://sora:pw-in-netloc@db:5432/sora", "pw-in-netloc"),
        ("postgresql://sora@db:5432/sora?password=pw-in-query", "pw-in-query"),
        ("postgresql://sora@db/sora?sslmode=require&PASSWORD=pw-upper&x=1", "pw-upper"),
        ("POSTGRESQL://sora:pw-upper-scheme@db/sora", "pw-upper-scheme"),
        ("Postgres://sora:pw-mixed@db/sora", "pw-mixed"),
    ],
)
def test_every_database_password_is_a_secret(url: str, password: str) -> None:
    settings = load_settings(BASE | {"DATABASE_URL": url})
    assert settings.database_url.startswith("postgres")  # one spelling for every check
    scrub = Scrubber(settings.secrets)
    line = f"could not connect to {url}: password {password} refused"
    assert password not in scrub(line)
    assert password not in redact(settings.database_url)
    assert password not in parse_target(url).describe()


def test_escaped_passwords_are_hidden_as_written_and_decoded() -> None:
    url = "postgresql://sora:p%40ss%2Fword@db/sora?password=q%26uery"
    assert set(passwords_in(url)) == {"p%40ss%2Fword", "p@ss/word", "q%26uery", "q&uery"}
    shown = redact(url)
    assert "p%40ss" not in shown and "q%26uery" not in shown
    assert shown == "postgresql://sora:***@db/sora?password=***"


def test_a_url_without_password_is_shown_as_it_is() -> None:
    assert redact("postgresql://sora@db:5432/sora?sslmode=require") == (
        "postgresql://sora@db:5432/sora?sslmode=require"
    )


def test_the_development_server_must_be_one_the_bot_stays_in() -> None:
    (problem,) = problems_of(ALLOWED_GUILD_IDS="1,2", DEV_GUILD_ID="3")
    assert problem.startswith("DEV_GUILD_ID (3) is not in ALLOWED_GUILD_IDS")
    assert load_settings(BASE | {"ALLOWED_GUILD_IDS": "1,2", "DEV_GUILD_ID": "2"}).dev_guild_id == 2
