"""The Docker image, the example settings and the lock files, read as Docker and pip read them."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath

from bot.config import load_settings

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
    for path in (settings.database_path, settings.media_dir):
        assert PurePosixPath(path).is_relative_to(volume), path


def test_checkout_settings_keep_data_next_to_the_checkout() -> None:
    example = env_file((PROJECT / ".env.example").read_text())
    settings = load_settings(example | SECRETS)
    assert settings.database_path == Path("data/sora-bot.sqlite3")
    assert settings.media_dir == Path("data/media")


def test_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = set((PROJECT / ".dockerignore").read_text().split())
    assert {".env", ".venv", ".git", "data"} <= ignored


def test_image_installs_from_the_lock_file_with_hashes() -> None:
    text = (PROJECT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in text
    # The dependency layer comes before the source, so a code change does not reinstall it.
    assert text.index("requirements.lock") < text.index("COPY bot")


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


def test_the_health_checks_run_the_tested_health_command() -> None:
    # `sora-bot check --health` is tested in test_cli.py and against the running bot (e2e).
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert 'CMD ["sora-bot", "check", "--health"]' in dockerfile.split("HEALTHCHECK", 1)[1]
    compose = (PROJECT / "compose.yaml").read_text()
    assert 'test: ["CMD", "sora-bot", "check", "--health"]' in compose


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
