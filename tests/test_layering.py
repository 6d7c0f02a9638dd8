"""Architecture rules, checked on the source with `ast`: the functional core is pure, the ORM stays
in storage/, and only bot/clock.py reads wall time."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
GOVERNANCE_ALLOWED = frozenset(
    {"__future__", "collections.abc", "dataclasses", "datetime", "enum", "fractions", "typing"}
)
DRIVERS = ("tortoise", "asyncpg", "aiosqlite")


def sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Every module an import statement names, at any depth (function-level imports count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, "." * node.level + (node.module or "")
            else:
                yield node.lineno, node.module or ""


def top(module: str) -> str:
    return module.split(".", 1)[0]


def test_the_sources_are_found() -> None:
    names = {rel(p) for p in sources(*PACKAGES)}
    assert {"bot/governance.py", "bot/clock.py", "storage/models.py", "handlers/votes.py"} <= names


def test_governance_imports_only_the_stdlib_allow_list() -> None:
    path = ROOT / "bot" / "governance.py"
    found = list(imported_modules(path))
    assert found, "bot/governance.py imports nothing?"
    bad = [f"line {n}: {mod}" for n, mod in found if mod not in GOVERNANCE_ALLOWED]
    assert not bad, f"bot/governance.py must import only {sorted(GOVERNANCE_ALLOWED)}: {bad}"


def test_governance_has_no_dynamic_imports() -> None:
    tree = ast.parse((ROOT / "bot" / "governance.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            assert name not in ("__import__", "importlib.import_module", "open", "print"), name


def test_tortoise_is_imported_only_under_storage() -> None:
    bad = [
        f"{rel(path)} line {n}: {mod}"
        for path in sources(*PACKAGES)
        for n, mod in imported_modules(path)
        if top(mod) == "tortoise" and rel(path).split("/", 1)[0] != "storage"
    ]
    assert not bad, bad


def test_tortoise_is_used_by_storage() -> None:
    # The scan above would pass vacuously if the import lines were not recognised.
    users = {
        rel(path)
        for path in sources("storage")
        for _, mod in imported_modules(path)
        if top(mod) == "tortoise"
    }
    assert {"storage/db.py", "storage/models.py", "storage/repo.py"} <= users


@pytest.mark.parametrize("package", ["bot", "handlers"])
def test_bot_and_handlers_import_no_database_driver(package: str) -> None:
    bad = [
        f"{rel(path)} line {n}: {mod}"
        for path in sources(package)
        for n, mod in imported_modules(path)
        if top(mod) in DRIVERS
    ]
    assert not bad, bad


def test_handlers_do_not_import_storage_models() -> None:
    bad = [
        f"{rel(path)} line {n}: {mod}"
        for path in sources("bot", "handlers")
        for n, mod in imported_modules(path)
        if mod in ("storage.models", "storage.db")
        and rel(path) not in ("bot/app.py", "bot/cli.py", "bot/commands.py")
    ]
    assert not bad, bad


def test_only_the_clock_reads_datetime_now() -> None:
    readers = {rel(p) for p in sources(*PACKAGES) if "datetime.now(" in p.read_text("utf-8")}
    assert readers == {"bot/clock.py"}


_WALL_TIME = {
    "datetime.now",
    "datetime.utcnow",
    "datetime.today",
    "date.today",
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.date.today",
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.perf_counter",
}


def _module_level_calls(tree: ast.Module) -> Iterator[ast.Call]:
    """Calls that run at import time: anywhere except inside function bodies and lambdas
    (default argument values and decorators do run at import time, so they are included)."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend(node.decorator_list)
            stack.extend(node.args.defaults)
            stack.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def test_no_wall_time_is_read_at_import_time() -> None:
    bad = []
    for path in sources(*PACKAGES):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for call in _module_level_calls(tree):
            name = ast.unparse(call.func)
            if name in _WALL_TIME:
                bad.append(f"{rel(path)} line {call.lineno}: {name}()")
    assert not bad, bad


def test_the_import_time_scan_sees_module_level_calls() -> None:
    tree = ast.parse(
        "import time\n"
        "STARTED = time.time()\n"
        "class C:\n    at = datetime.now()\n"
        "def f(x=date.today()):\n    return time.time()\n"
        "g = lambda: time.time()\n"
    )
    names = sorted(ast.unparse(c.func) for c in _module_level_calls(tree))
    assert names == ["date.today", "datetime.now", "time.time"]


# --- ports, not reaches: the platform side -------------------------------------------------------
# Adapters get what they need from storage through the Protocols of bot/adapters/ports.py, built
# in the composition root; handlers never reach for a platform.


def test_adapters_do_not_import_storage() -> None:
    bad = [
        f"{rel(path)} line {n}: {mod}"
        for path in sources("bot/adapters")
        for n, mod in imported_modules(path)
        if top(mod) in ("storage", *DRIVERS)
    ]
    assert not bad, bad


def _names_from_bot(path: Path) -> Iterator[tuple[int, str]]:
    """`from bot import x` as `bot.x` (imported_modules sees only `bot`)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "bot" and not node.level:
            for alias in node.names:
                yield node.lineno, f"bot.{alias.name}"


def test_handlers_do_not_import_adapters() -> None:
    bad = [
        f"{rel(path)} line {n}: {mod}"
        for path in sources("handlers")
        for n, mod in (*imported_modules(path), *_names_from_bot(path))
        if mod == "bot.adapters" or mod.startswith("bot.adapters.")
    ]
    assert not bad, bad


def test_the_port_scans_see_their_imports() -> None:
    # Both scans would pass vacuously if the files were not found.
    adapters = {rel(p) for p in sources("bot/adapters")}
    assert {"bot/adapters/wecom/ws.py", "bot/adapters/dingtalk/adapter.py"} <= adapters
    assert any(
        mod == "bot.adapters.ports"
        for _, mod in imported_modules(ROOT / "bot/adapters/wecom/ws.py")
    )
    assert "handlers/votes.py" in {rel(p) for p in sources("handlers")}


# --- benchmarks stand apart from the tests ------------------------------------------------------
# What the benchmarks share lives in benchmarks/kit.py or comes from the package (bot.demo seeds
# their societies); the test kit's fakes stay the tests' own.


def test_benchmarks_do_not_import_the_tests() -> None:
    found = sources("benchmarks")
    # The scan would pass vacuously if the files or their function-level imports were not seen.
    assert ROOT / "benchmarks" / "kit.py" in found
    seen = {mod for _, mod in imported_modules(ROOT / "benchmarks" / "dingtalk_callbacks.py")}
    assert {"benchmarks.kit", "bot.demo"} <= seen
    bad = [
        f"{rel(path)} line {n}: {mod}"
        for path in found
        for n, mod in imported_modules(path)
        if top(mod) == "tests"
    ]
    assert not bad, bad


# ---------------------------------------------------------------------------------------------
# The reminder planner, drafting and wording are pure like governance: no storage, no I/O, no
# clock (they are given `now`); only the stdlib allow-list and these pure modules of ours.

REMINDERS_PURE = ("bot/reminders/plan.py", "bot/reminders/draft.py", "bot/reminders/texts.py")
REMINDERS_ALLOWED = GOVERNANCE_ALLOWED | {
    "functools",
    "re",
    "zoneinfo",
    "bot.config",  # the settings dataclasses
    "bot.governance",
    "bot.workdays",
    "bot.reminders.plan",
    "bot.reminders.texts",
}


def _modules_named(path: Path) -> Iterator[tuple[int, str]]:
    """`imported_modules`, where `from package import module` names `package.module`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    submodules: dict[tuple[int, str], list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            folder = ROOT.joinpath(*node.module.split("."))
            found = [a.name for a in node.names if (folder / f"{a.name}.py").exists()]
            if found:
                submodules[(node.lineno, node.module)] = found
    for n, mod in imported_modules(path):
        for name in submodules.get((n, mod), [""]):
            yield n, f"{mod}.{name}" if name else mod


@pytest.mark.parametrize("name", REMINDERS_PURE)
def test_the_reminder_planner_imports_only_pure_modules(name: str) -> None:
    path = ROOT / name
    found = list(_modules_named(path))
    assert found, f"{name} imports nothing?"
    bad = [f"line {n}: {mod}" for n, mod in found if mod not in REMINDERS_ALLOWED]
    assert not bad, f"{name} must import only {sorted(REMINDERS_ALLOWED)}: {bad}"


@pytest.mark.parametrize("name", REMINDERS_PURE)
def test_the_reminder_planner_awaits_nothing_and_opens_nothing(name: str) -> None:
    tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.AsyncFunctionDef | ast.Await), f"{name} line {node.lineno}"
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            assert called not in ("__import__", "importlib.import_module", "open", "print"), called


def test_the_reminder_purity_scan_sees_a_storage_import(tmp_path: Path) -> None:
    # The scan above would pass vacuously if `from storage import x` were not recognised.
    probe = ROOT / "bot" / "reminders" / "plan.py"
    names = {mod for _, mod in _modules_named(probe)}
    assert "bot.governance" in names
    fake = tmp_path / "fake.py"
    fake.write_text("from storage import snapshots\nfrom bot.reminders import service\n")
    assert {mod for _, mod in _modules_named(fake)} == {
        "storage.snapshots",
        "bot.reminders.service",
    }
