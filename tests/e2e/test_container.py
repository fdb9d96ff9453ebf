"""What the operator's container meets, with the real bot process: the compose files' way of
passing a PostgreSQL password, stopping during each phase of start-up, and the default health
check."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg

from tests.conftest import migrate
from tests.e2e.conftest import Stack
from tests.support import compose
from tests.support.postgres_cluster import Databases

EXIT_TIMEOUT = 30.0
# Every character that breaks a password written inside a URL.
AWKWARD_PASSWORD = "p@ss:w/rd#1%"


async def refused_without_password(url: str) -> None:
    """Wait (bounded) until the server asks `url`'s role for its password."""
    async with asyncio.timeout(10):
        while True:
            try:
                conn = await asyncpg.connect(url, timeout=5)
            except asyncpg.InvalidPasswordError:
                return
            await conn.close()  # the new rule is not loaded yet
            await asyncio.sleep(0.05)


async def test_a_postgresql_password_with_url_characters_works_as_compose_passes_it(
    idle_stack: Stack, postgres: Databases
) -> None:
    stack = idle_stack
    dotenv = {"POSTGRES_PASSWORD": AWKWARD_PASSWORD}
    config = compose.merged("compose.yaml", "compose.postgres.yaml")
    environment = compose.service_environment(config, "bot", dotenv)
    # The compose file names the server and user in the URL and passes the password apart.
    given = urlsplit(environment["DATABASE_URL"])
    assert (given.hostname, given.username, given.password) == ("postgres", "sora", None)
    assert environment["DATABASE_PASSWORD"] == AWKWARD_PASSWORD
    postgres_env = compose.service_environment(config, "postgres", dotenv)
    assert postgres_env["POSTGRES_PASSWORD"] == AWKWARD_PASSWORD

    # The same form pointed at this test's server: a role that must give that password.
    server = postgres.owned_by_password_role("sora_awkward", AWKWARD_PASSWORD)
    await refused_without_password(server)
    stack.env_overrides |= {
        "DATABASE_URL": server,
        "DATABASE_PASSWORD": environment["DATABASE_PASSWORD"],
    }

    # As the README moves an existing installation: migrate-db to the configured database.
    await asyncio.to_thread(migrate, f"sqlite:///{stack.database}")
    mover = await stack.runner.start("bot", stack.env(), cwd=stack.workdir, args=("migrate-db",))
    assert await mover.wait_exit(EXIT_TIMEOUT) == 0, mover.log_text()
    assert "every table checked" in mover.log_text()

    await stack.start_bot()
    checker = await stack.runner.start(
        "bot", stack.env(), cwd=stack.workdir, args=("check", "--local")
    )
    assert await checker.wait_exit(EXIT_TIMEOUT) == 0, checker.log_text()
    assert "postgresql://sora_awkward:***@127.0.0.1:" in checker.log_text()
    assert stack.bot is not None
    for output in (mover.log_text(), checker.log_text(), stack.bot.log_text()):
        assert AWKWARD_PASSWORD not in output and "p%40ss" not in output
    stack.assert_clean_log()
