"""Every word a member sees comes from the catalogs: no English sentence is written in code.

The source of bot/ and cogs/ is read (AST) for the places that put words in front of a member:
a `Refusal(...)`, a message sent or edited, a button label, a command, option or choice
description or name, and module constants named like a message. A string literal with words in
it there is a sentence that only English speakers could read. Log calls are not looked at: the
operator's log stays English.

Lists are words too: "a, b" joined in code reads `檢視頻道, 附加檔案` in a Chinese sentence. A
value of a message (`Text(...)`), a refusal or a message sent that is a list joined with a
written separator (`", ".join(...)`, directly or through a variable, or an f-string such as
`f"{a}, {b}"`) is reported; such a list is an `i18n.listing`, joined in the reader's language.
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
#: Punctuation that separates the items of a list in some language (a slash between spaces:
#: "a / b"; a link's slashes are not a list).
LIST_SEPARATOR = re.compile(r"[,;、，；]|\s/\s")


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


def _joins_a_list(node: ast.AST | None, joined: set[str]) -> bool:
    """`", ".join(...)`, a variable or function of this module giving one, or an f-string
    putting a separator between values: a list in the writer's language."""
    if isinstance(node, ast.Name):
        return node.id in joined
    if isinstance(node, ast.JoinedStr):
        return any(
            isinstance(part, ast.Constant) and LIST_SEPARATOR.search(str(part.value))
            for part in node.values
        ) and any(isinstance(part, ast.FormattedValue) for part in node.values)
    if not isinstance(node, ast.Call):
        return False
    if _callee(node)[1] in joined:  # a function of this module returning a joined list
        return True
    return (
        isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
        and bool(LIST_SEPARATOR.search(node.func.value.value))
    )


def _shown_values(call: ast.Call) -> list[ast.expr]:
    """The arguments of a call that end up in front of a member."""
    receiver, name = _callee(call)
    if receiver in LOG_RECEIVERS:
        return []
    if name in ("Text", "Refusal", *SENDING_METHODS):
        return [*call.args, *(k.value for k in call.keywords)]
    if name in WORDED_KEYWORDS:
        wanted = WORDED_KEYWORDS[name]
        return [k.value for k in call.keywords if wanted is None or k.arg in wanted]
    return []


def _lists_joined_in(scope: ast.AST, joined: set[str]) -> set[str]:
    """`joined` and the variables of `scope` that hold a list joined in code."""
    names = set(joined)
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign | ast.AnnAssign) and _joins_a_list(node.value, names):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def joined_lists(path: Path) -> list[str]:
    """Where `path` joins a list in code for a member: `line: excerpt` for each."""
    tree = ast.parse(path.read_text(), str(path))
    functions = [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    # The module's functions that return a joined list count as one where they are called.
    returning: set[str] = set()
    for function in functions:
        inside = _lists_joined_in(function, set())
        if any(
            isinstance(node, ast.Return) and _joins_a_list(node.value, inside)
            for node in ast.walk(function)
        ):
            returning.add(function.name)
    found: set[tuple[int, str]] = set()
    for scope in [tree, *functions]:
        joined = _lists_joined_in(scope, returning)
        for node in ast.walk(scope):
            if isinstance(node, ast.Call):
                for value in _shown_values(node):
                    if _joins_a_list(value, joined):
                        found.add((value.lineno, ast.unparse(value)[:80]))
    return [f"{line}: {excerpt}" for line, excerpt in sorted(found)]


@pytest.mark.parametrize("name", _source_files())
def test_no_list_is_joined_in_code_for_a_member(name: str) -> None:
    assert joined_lists(ROOT / name) == [], f"{name}: join these with i18n.listing"


def test_the_scan_finds_lists_joined_in_code(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def refuse(names, periods, a, b):\n"
        "    raise Refusal(Text('sora.missing_permissions', permissions=', '.join(names)))\n"
        "    allowed = ' / '.join(periods)\n"
        "    raise Refusal(Text('quota.refusal.period', periods=allowed))\n"
        "    await channel.send(f'{a}、{b}')\n"
        "    Text('checks.bad_quality', choices=listing(names))\n"
        "    Text('checks.prompt_too_long', length=f'{a:,}')\n"
        "    log.info('missing %s', ', '.join(names))\n"
        "    lines = '\\n'.join(names)\n"
        "    await channel.send(lines)\n"
        "    raise Refusal(Text('iterate.form.bad_orientation', choices=choices(names)))\n"
        "def choices(names):\n"
        "    return ' / '.join(names)\n"
    )
    assert [where.split(":")[0] for where in joined_lists(sample)] == ["2", "4", "5", "11"]


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
