"""The Docker image, the example settings and the lock files, read as Docker and pip read them."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath

from bot.config import load_settings
from bot.ops.liveness_file import STALE_AFTER_SECONDS, WRITE_INTERVAL_SECONDS
from tests.support.compose import load as load_compose
from tests.support.compose import merged as merged_compose

PROJECT = Path(__file__).resolve().parents[2]
SECRETS = {"DISCORD_TOKEN": "token-for-test", "RIVYA_API_KEY": "rvya_sk_for_test"}


def dockerfile_env(text: str) -> dict[str, str]:
    """The ENV instructions of a Dockerfile (`KEY=value` form, continuation lines joined)."""
    joined = re.sub(r"\\\n", " ", text)
    env: dict[str, str] = {}
    for line in joined.splitlines():
        if line.strip().upper().startswith("ENV "):
            for pair in shlex.split(line.strip()[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def env_file(text: str) -> dict[str, str]:
    """An env file as `docker run --env-file` reads it: comments and blanks skipped, the value
    is everything after the first `=`; a bare name (passed through from the host) is ignored."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        env[key.strip()] = value
    return env


def test_container_settings_keep_every_path_in_the_data_volume() -> None:
    image = dockerfile_env((PROJECT / "Dockerfile").read_text())
    example = env_file((PROJECT / ".env.example").read_text())
    # The operator fills in the two secrets; the env file overrides the image, as in Docker.
    settings = load_settings(image | example | SECRETS)
    volume = PurePosixPath("/data")
    for path in (settings.database_path, settings.media_dir, settings.liveness_file):
        assert PurePosixPath(path).is_relative_to(volume), path


def test_checkout_settings_keep_data_next_to_the_checkout() -> None:
    example = env_file((PROJECT / ".env.example").read_text())
    settings = load_settings(example | SECRETS)
    assert settings.database_path == Path("data/sora-bot.sqlite3")
    assert settings.media_dir == Path("data/media")


def test_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = set((PROJECT / ".dockerignore").read_text().split())
    assert {".env", ".venv", ".git", "data"} <= ignored


def dockerfile_stages(text: str) -> dict[str, list[str]]:
    """Each build stage's instructions (continuation lines joined, comments left out), by its
    name (`AS name`; the last, unnamed one is `final`), the FROM line first."""
    joined = re.sub(r"\\\n\s*", " ", text)
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            words = line.split()
            name = words[3] if len(words) == 4 and words[2].upper() == "AS" else "final"
            current = stages.setdefault(name, [])
        current.append(line)
    return stages


STAGES = dockerfile_stages((PROJECT / "Dockerfile").read_text())


def test_image_installs_from_the_lock_file_with_hashes() -> None:
    (install,) = [line for line in STAGES["dependencies"] if "pip install" in line]
    assert "--require-hashes -r /tmp/requirements.lock" in install
    # Only the lock file goes into that stage, so a code change does not reinstall it.
    copies = [line for line in STAGES["dependencies"] if line.startswith("COPY ")]
    assert copies == ["COPY requirements.lock /tmp/"]
    # The bot's own stage installs without dependencies: all of them come from the lock file.
    (bot,) = [line for line in STAGES["bot"] if "pip install" in line]
    assert "--no-deps" in bot


def test_the_image_holds_the_installed_bot_and_no_source_tree() -> None:
    final = STAGES["final"]
    copies = [line for line in final if line.startswith(("COPY", "ADD"))]
    # The cached dependency layer first, then the small layer that changes with the code.
    assert copies == [
        "COPY --from=dependencies /install /usr/local",
        "COPY --from=bot /install /usr/local",
    ]
    assert not any("pip install" in line for line in final)  # no build/ or *.egg-info here
    # Every stage starts from the same pinned base, so the installed files fit the final one.
    assert STAGES["base"][0] == "FROM python:3.11-slim-bookworm AS base"
    assert [stage[0].split()[1] for stage in STAGES.values()][1:] == ["base"] * 3
    assert "USER sorabot" in final and 'CMD ["sora-bot", "run"]' in final


def _locked(lock: str) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", (PROJECT / lock).read_text(), re.M)
    return {_normal(name): version for name, version in pins}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: list[str]) -> set[str]:
    return {
        _normal(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
        for requirement in requirements
    }


def test_lock_files_cover_every_declared_dependency() -> None:
    """Fails when pyproject.toml gains a dependency and scripts/lock.sh was not run."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    runtime, dev = _locked("requirements.lock"), _locked("requirements-dev.lock")
    assert _names(project["dependencies"]) <= runtime.keys()
    assert _names(project["dependencies"] + project["optional-dependencies"]["test"]) <= dev.keys()
    # The bot runs with the same versions it is tested with.
    assert all(dev[name] == version for name, version in runtime.items())


def test_test_tools_are_pinned_exactly() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    for requirement in project["optional-dependencies"]["test"]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][^,<>]*", requirement), requirement


def dockerfile_healthcheck(text: str) -> tuple[dict[str, float], list[str]]:
    """The HEALTHCHECK instruction: its options (in seconds, retries as a count) and command."""
    joined = re.sub(r"\\\n", " ", text)
    (line,) = [line for line in joined.splitlines() if line.startswith("HEALTHCHECK ")]
    options, _, command = line.removeprefix("HEALTHCHECK ").partition(" CMD ")
    flags = dict(re.findall(r"--([a-z-]+)=(\S+)", options))
    timings = {name.replace("-", "_"): seconds(value) for name, value in flags.items()}
    return timings, json.loads(command)


def seconds(duration: str | int) -> float:
    """A Docker duration (`15s`, `1m30s`, or a bare count of retries)."""
    if isinstance(duration, int) or duration.isdigit():
        return float(duration)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_the_health_checks_run_the_tested_health_command() -> None:
    # `sora-bot check --health` is tested in test_cli.py and against the running bot (e2e).
    options, command = dockerfile_healthcheck((PROJECT / "Dockerfile").read_text())
    assert command == ["sora-bot", "check", "--health"]
    compose = load_compose("compose.yaml")["services"]["bot"]["healthcheck"]
    assert compose["test"] == ["CMD", *command]
    # Compose's own copy of the timings says the same as the image's.
    assert {name: seconds(value) for name, value in compose.items() if name != "test"} == options


def test_the_health_check_turns_unhealthy_within_a_minute_of_losing_discord() -> None:
    options, _ = dockerfile_healthcheck((PROJECT / "Dockerfile").read_text())
    # The bot's report shows the loss at its next write; Docker needs `retries` failed checks.
    worst = WRITE_INTERVAL_SECONDS + options["interval"] * options["retries"]
    assert worst <= 60, worst
    assert options["interval"] < 60  # the first result comes well before a minute
    assert options["start_period"] >= 30  # a start-up with a slow video service is not counted
    # The check reads one file; a check still running at the next interval is stuck.
    assert options["timeout"] <= options["interval"]
    # A report the bot stopped refreshing is stale well before Docker gives up on it.
    assert STALE_AFTER_SECONDS <= 60


def test_compose_and_plain_docker_use_the_same_named_volumes() -> None:
    """Compose would name a volume after the project folder (`p_sora-data`); moving between
    Compose and the README's `docker run` must find the same data."""
    config = merged_compose("compose.yaml", "compose.postgres.yaml")
    volumes = config["volumes"]
    assert {key: value["name"] for key, value in volumes.items()} == {
        "sora-data": "sora-data",
        "sora-postgres": "sora-postgres",
    }
    assert config["services"]["bot"]["volumes"] == ["sora-data:/data"]
    # PostgreSQL's data apart from the bot's: one can be started over without the other.
    assert config["services"]["postgres"]["volumes"] == ["sora-postgres:/var/lib/postgresql/data"]
    readme = (PROJECT / "README.md").read_text()
    assert "-v sora-data:/data sora-bot" in readme


def test_the_bot_runs_under_an_init_with_compose_and_plain_docker() -> None:
    assert load_compose("compose.yaml")["services"]["bot"]["init"] is True
    readme = (PROJECT / "README.md").read_text()
    # Every way the README starts the bot (first run, upgrade), not the one-off copies.
    runs = [line for line in readme.splitlines() if line.startswith("docker run -d ")]
    assert len(runs) >= 2 and all(" --init " in line for line in runs), runs


def test_the_compose_files_pass_the_postgresql_password_apart_from_the_url() -> None:
    bot = load_compose("compose.postgres.yaml")["services"]["bot"]["environment"]
    assert "${" not in bot["DATABASE_URL"]  # the password may hold @ : / #
    assert bot["DATABASE_PASSWORD"] == "${POSTGRES_PASSWORD}"


def test_the_web_service_runs_as_the_bot_does_with_its_own_liveness_report() -> None:
    config = merged_compose("compose.yaml", "compose.postgres.yaml")
    web, bot = config["services"]["web"], config["services"]["bot"]
    assert web["command"] == ["sora-bot", "web"] and web["image"] == bot["image"]
    assert web["init"] is True and web["stop_grace_period"] == bot["stop_grace_period"]
    assert web["volumes"] == bot["volumes"]  # the kept videos it plays
    environment = web["environment"]
    assert "${" not in environment["DATABASE_URL"]  # the password may hold @ : / #
    assert environment["DATABASE_PASSWORD"] == "${POSTGRES_PASSWORD}"
    # The image's health check reads LIVENESS_FILE: the web's own, beside the bot's.
    assert environment["LIVENESS_FILE"].startswith("/data/")
    assert environment["LIVENESS_FILE"] != "/data/liveness.json"
    assert "LIVENESS_FILE" not in bot.get("environment", {})


def test_the_web_pages_templates_and_styles_are_package_data() -> None:
    """An installed bot (pip install ., the Docker image) serves the same pages as a checkout."""
    globs = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["bot"]
    package = PROJECT / "bot"
    shipped = {path for pattern in globs for path in package.glob(pattern)}
    for folder in ("web/templates", "web/static", "locales", "storage/migrations"):
        files = {p for p in (package / folder).rglob("*") if p.is_file() and p.suffix != ".py"}
        assert files and files <= shipped, folder
