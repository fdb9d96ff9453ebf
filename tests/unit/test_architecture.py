"""The layout keeps its promises: decisions in bot/ without Discord, areas as packages in
layers that import only downwards, thin cogs that do not lean on each other, and no import
cycle among the product's modules.

Imports are read from the source (every `import`, also inside functions and `TYPE_CHECKING`
blocks), so a lazy import cannot hide an arrow that runs the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "cogs")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = _modules()


def _imported(name: str, path: Path) -> set[str]:
    """Every module `name` imports, as dotted names (`from x import y` gives x and x.y)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _product_imports(name: str) -> set[str]:
    return {other for other in _imported(name, MODULES[name]) if other in MODULES} - {name}


# From the bottom up: a module may import its own layer and the layers below it, never above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # What every area uses: time, refusals, words, the job record, message length, prompts.
    (
        "base",
        ("bot", "bot.clock", "bot.errors", "bot.i18n", "bot.models", "bot.pages", "bot.prompts"),
    ),
    ("storage", ("bot.storage",)),
    ("settings", ("bot.config", "bot.settings_reader", "bot.logging_setup", "bot.metrics")),
    ("providers", ("bot.providers",)),
    ("video", ("bot.video",)),
    ("quota", ("bot.quota",)),
    ("jobs", ("bot.jobs",)),
    ("moderation", ("bot.moderation",)),
    ("ops", ("bot.ops",)),
    ("wiring", ("bot.wiring",)),
    # The web gallery and dashboard: on the wiring's services, started by the command line.
    ("web", ("bot.web",)),
    ("cogs", ("cogs",)),
    ("entry", ("bot.cli", "bot.__main__")),
)
# bot/ keeps at its top only what every area uses, the wiring and the command line.
MOST_TOP_LEVEL_MODULES = 16
# A module longer than this holds more than one job: split it by responsibility.
MOST_LINES_PER_MODULE = 550


def layer_of(name: str) -> int:
    """The index in LAYERS of the layer holding module `name` (the longest matching prefix)."""
    best, best_length = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # "bot" names the package itself: a new module in bot/ must be placed on purpose.
            matches = name == prefix or (prefix != "bot" and name.startswith(prefix + "."))
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def test_the_product_modules_are_found() -> None:
    assert {"bot.jobs.store", "bot.models", "cogs._client", "cogs.sora"} <= set(MODULES)


def test_product_modules_import_without_cycles() -> None:
    graph = {name: _product_imports(name) for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for other in sorted(graph[name]):
            # A package's __init__ runs before its submodules; that arrow is not a cycle.
            if not name.startswith(other + "."):
                visit(other, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(name for name in MODULES if layer_of(name) < 0)
    assert not unplaced, f"add {unplaced} to a layer in LAYERS"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_run_down_the_layers(name: str) -> None:
    mine = layer_of(name)
    upward = sorted(
        f"{other} ({LAYERS[layer_of(other)][0]})"
        for other in _product_imports(name)
        if layer_of(other) > mine and not name.startswith(other + ".")
    )
    assert not upward, f"{name} ({LAYERS[mine][0]}) imports from a layer above: {upward}"


def test_bot_keeps_few_modules_at_its_top() -> None:
    top = sorted(path.name for path in (ROOT / "bot").glob("*.py"))
    assert len(top) <= MOST_TOP_LEVEL_MODULES, f"{len(top)} modules directly in bot/: {top}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_too_long_to_live_in(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MOST_LINES_PER_MODULE, f"{name} has {lines} lines; split it by responsibility"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.split(".")[0] == "bot"))
def test_nothing_under_bot_imports_discord(name: str) -> None:
    discord_imports = sorted(
        other
        for other in _imported(name, MODULES[name])
        if other == "discord" or other.startswith("discord.")
    )
    assert not discord_imports, f"{name} imports {discord_imports}; Discord glue goes in cogs/"


COMMAND_COGS = sorted(
    name for name in MODULES if name.startswith("cogs.") and not name.split(".")[1].startswith("_")
)


def test_the_command_cogs_are_found() -> None:
    assert {"cogs.sora", "cogs.quota", "cogs.results"} <= set(COMMAND_COGS)


@pytest.mark.parametrize("name", COMMAND_COGS)
def test_no_command_cog_imports_another(name: str) -> None:
    others = sorted(set(COMMAND_COGS) & _product_imports(name))
    assert not others, f"{name} imports {others}; shared glue goes in a private cogs/_module"


def test_the_guards_see_what_they_guard(tmp_path: Path) -> None:
    # Each guard would notice its violation: read a made-up module through the same code.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import discord.ui\nfrom cogs import quota\nfrom . import jobs\n"
        "def later():\n    from cogs.sora import SoraCog\n"
    )
    found = _imported("bot.sample", sample)
    assert {"discord.ui", "cogs", "cogs.quota", "bot.jobs", "cogs.sora"} <= found
    # A storage module importing a job module would be caught by the layer guard.
    assert layer_of("bot.jobs.store") > layer_of("bot.storage.jobs")
    assert layer_of("bot.storage") < layer_of("bot.jobs") < layer_of("cogs._client")
    assert layer_of("bot.cli") == len(LAYERS) - 1
    assert layer_of("nowhere") == -1 and layer_of("bot.unplaced") == -1
