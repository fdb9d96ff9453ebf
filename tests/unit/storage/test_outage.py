"""A database out of reach: told apart from a bug, said in words, one line per outage."""

from __future__ import annotations

import logging
import sqlite3

import asyncpg
import pytest

from bot.storage.outage import OutageNotice, describe, is_unreachable


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        OSError(113, "No route to host"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        sqlite3.OperationalError("unable to open database file"),
        sqlite3.OperationalError("disk I/O error"),
    ],
)
def test_an_unreachable_database_is_recognised(error: BaseException) -> None:
    assert is_unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        asyncpg.UndefinedColumnError('column "x" does not exist'),
        sqlite3.OperationalError("no such table: jobs"),
        FileNotFoundError(2, "No such file or directory", "/data/media/x.png"),
        KeyError("state"),
    ],
)
def test_a_bug_is_not_an_outage(error: BaseException) -> None:
    assert not is_unreachable(error)


def test_the_cause_is_never_empty() -> None:
    assert describe(TimeoutError()) == "no answer within 10 s (timed out)"
    assert (
        describe(ConnectionRefusedError(111, "refused"))
        == "ConnectionRefusedError: [Errno 111] refused"
    )
    assert describe(asyncpg.InterfaceError("")) == "InterfaceError"


def test_one_line_when_it_goes_and_one_when_it_is_back(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    notice = OutageNotice(logging.getLogger("test.outage"), "the worker", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "test.outage"):
        notice.answered()  # nothing to say while it answers
        for _ in range(15):
            notice.failed(ConnectionRefusedError(111, "refused"))
            now[0] += 1
        notice.answered()
        notice.answered()
    assert [record.getMessage() for record in caplog.records] == [
        "database unreachable (ConnectionRefusedError: [Errno 111] refused); the worker waits "
        "for it and tries again",
        "database reachable again after 15 s; the worker carries on",
    ]
    assert not any(record.exc_info for record in caplog.records)
