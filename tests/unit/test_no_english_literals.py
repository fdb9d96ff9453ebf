"""Every word a member sees comes from the catalogs: no English sentence is written in code.

The source of bot/ and cogs/ is read (AST) for the places that put words in front of a member:
a `Refusal(...)`, a message sent or edited, a button label, a command, option or choice
description or name, and module constants named like a message. A string literal with words in
it there is a sentence that only English speakers could read. Log calls are not looked at: the
operator's log stays English.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot import i18n

ROOT = Path(__file__).resolve().parents[2]

#: Receivers whose calls are the operator's log, never shown to members.
LOG_RECEIVERS = {"log", "logger", "logging"}

#: Calls whose first argument (or `content=`) is shown to a member.
SENDING_METHODS = {
    "send",
    "send_message",
    "edit_message",
    "edit_original_response",
    "edit",
    "send_ephemeral",
    "notify_requester",
    "show_status",
}
#: Calls whose keyword arguments (all, or the named ones) are words shown in Discord.
WORDED_KEYWORDS = {
    "Button": {"label"},
    "Choice": {"name"},
    "Command": {"description"},
    "command": {"description"},
    "Group": {"description"},
    "ContextMenu": {"name"},
    "Modal": {"title"},
    "TextInput": {"label", "placeholder"},
    "describe": None,  # every keyword
    "rename": None,
}
MESSAGE_CONSTANT = re.compile(r"(MESSAGE|REFUSAL|WITHDRAWN|NOTICE)$")
WORD = re.compile(r"[A-Za-z]{2,}")


def _source_files() -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for package in ("bot", "cogs")
        for path in (ROOT / package).rglob("*.py")
        if "providers" not in path.parts
    )


def _has_words(node: ast.AST | None) -> bool:
    """A literal string (or f-string) with at least one written word in it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORD.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_has_words(part) for part in node.values)
    if isinstance(node, ast.BinOp):  # "..." + "..."
        return _has_words(node.left) or _has_words(node.right)
    if isinstance(node, ast.IfExp):
        return _has_words(node.body) or _has_words(node.orelse)
    return False


def _callee(call: ast.Call) -> tuple[str | None, str]:
    """(receiver name, called name) of `receiver.name(...)` or `name(...)`."""
    func = call.func
    if isinstance(func, ast.Attribute):
        receiver = func.value.id if isinstance(func.value, ast.Name) else None
        return receiver, func.attr
    if isinstance(func, ast.Name):
        return None, func.id
    return None, ""


def english_literals(path: Path) -> list[str]:
    """Where `path` writes member-facing words in code: `line: excerpt` for each."""
    found: list[str] = []

    def report(node: ast.AST) -> None:
        found.append(f"{getattr(node, 'lineno', '?')}: {ast.unparse(node)[:80]}")

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Assign) and _has_words(node.value):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(MESSAGE_CONSTANT.search(name) for name in names):
                report(node.value)
        if not isinstance(node, ast.Call):
            continue
        receiver, name = _callee(node)
        if receiver in LOG_RECEIVERS:
            continue
        if name == "Refusal" and node.args and _has_words(node.args[0]):
            report(node.args[0])
        if name in SENDING_METHODS:
            shown = [a for a in node.args if _has_words(a)]
            shown += [k.value for k in node.keywords if k.arg == "content" and _has_words(k.value)]
            for value in shown:
                report(value)
        if name in WORDED_KEYWORDS:
            wanted = WORDED_KEYWORDS[name]
            for keyword in node.keywords:
                if (wanted is None or keyword.arg in wanted) and _has_words(keyword.value):
                    report(keyword.value)
    return sorted(found, key=lambda where: int(where.split(":")[0]))


@pytest.mark.parametrize("name", _source_files())
def test_no_member_facing_english_is_written_in_code(name: str) -> None:
    assert english_literals(ROOT / name) == [], f"{name}: move these words into bot/locales"


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "BLOCKED_MESSAGE = 'You are blocked.'\n"
        "raise Refusal(f'Job #{job} is gone.')\n"
        "await channel.send('Hello there')\n"
        "await interaction.edit_original_response(content='Done.')\n"
        "Button(label='Delete', custom_id='x')\n"
        "app_commands.describe(job='The job number')\n"
        "app_commands.Choice(name='Portrait', value='portrait')\n"
        "log.info('job %s sent', 3)\n"
        "await channel.send(text, nonce='sora-1')\n"
        "raise Refusal(Text('results.job_gone'))\n"
    )
    assert [line.split(":")[0] for line in english_literals(sample)] == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
    ]


def _literal_keys(path: Path) -> list[tuple[int, str]]:
    keys = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and _callee(node)[1] in ("Text", "words")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.append((node.lineno, node.args[0].value))
    return keys


@pytest.mark.parametrize("name", _source_files())
def test_every_key_written_in_code_is_in_the_catalogs(name: str) -> None:
    english = i18n.catalog(i18n.DEFAULT_LOCALE)
    missing = [
        f"{line}: {key}"
        for line, key in _literal_keys(ROOT / name)
        if key not in english.keys and key not in english.plural_keys
    ]
    assert missing == [], f"{name}: keys not in bot/locales/en"
