"""The worker's chat port and the double that stands in for it in tests and benchmarks take
the same calls, so a change of the port breaks a test, not a benchmark run months later.
(The Discord adapter is held to the port by mypy, where the worker is built.)"""

from __future__ import annotations

import inspect

import pytest

from bot.jobs.chat_port import ChatPort
from tests.support.doubles import RecordingChat

PORT_METHODS = sorted(
    name
    for name, member in vars(ChatPort).items()
    if inspect.iscoroutinefunction(member) and not name.startswith("_")
)


def test_the_ports_methods_are_found() -> None:
    assert {"show_status", "post_result", "notify_requester"} <= set(PORT_METHODS)


@pytest.mark.parametrize("name", PORT_METHODS)
def test_the_double_takes_the_ports_calls(name: str) -> None:
    port = inspect.signature(getattr(ChatPort, name))
    double = inspect.signature(getattr(RecordingChat, name))
    assert list(double.parameters) == list(port.parameters)
    for parameter in port.parameters.values():
        mine = double.parameters[parameter.name]
        assert (mine.kind, mine.default) == (parameter.kind, parameter.default), parameter.name
