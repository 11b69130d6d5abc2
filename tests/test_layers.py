"""The architecture as tests: layers point one way, and the folders keep their size.

Read from the source with :mod:`ast`, so an import inside a function or under
``TYPE_CHECKING`` counts like any other: a cycle hidden that way is still a cycle.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kcbx"

# Libraries that do I/O or belong to one channel or one file format: never in the domain.
INFRASTRUCTURE = (
    "telegram",
    "aiosqlite",
    "sqlite3",
    "asyncpg",
    "psycopg",
    "aiohttp",
    "openpyxl",
    "reportlab",
    "docx",
    "matplotlib",
    "pypdf",
)
# Where Telegram HTML may be written (documents keep their own markup, the demo and the fake
# Bot API server read it back).
HTML_ALLOWED = (
    "kcbx.bot.texts",
    "kcbx.handlers",
    "kcbx.bot.documents",
    "kcbx.testing",
    "kcbx.demo",
)
HTML_TAG = re.compile(r"</?(b|i|u|s|code|pre|a|blockquote|tg-spoiler)( [^>]*)?>")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@cache
def tree_of(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"))


def imported(name: str) -> Iterator[str]:
    """Every module name `name` imports, anywhere in the file."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree_of(name)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield module
            for alias in node.names:
                if f"{module}.{alias.name}" in modules():
                    yield f"{module}.{alias.name}"


def kcbx_imports(name: str) -> set[str]:
    return {m for m in imported(name) if m in modules() and m != name}


def in_package(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_no_import_cycles() -> None:
    graph = {name: kcbx_imports(name) for name in modules()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_storage_imports_only_the_domain() -> None:
    wrong = {
        name: sorted(
            m for m in kcbx_imports(name) if not in_package(m, "kcbx.storage", "kcbx.bot.domain")
        )
        for name in modules()
        if in_package(name, "kcbx.storage")
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_domain_is_pure() -> None:
    wrong = {}
    for name in modules():
        if not in_package(name, "kcbx.bot.domain"):
            continue
        bad = [m for m in kcbx_imports(name) if not in_package(m, "kcbx.bot.domain")]
        bad += [m for m in imported(name) if m.split(".")[0] in INFRASTRUCTURE]
        if bad:
            wrong[name] = sorted(set(bad))
    assert wrong == {}


def test_only_the_handlers_know_telegram() -> None:
    wrong = [
        name
        for name in modules()
        if any(m.split(".")[0] == "telegram" for m in imported(name))
        and not in_package(name, "kcbx.handlers", "kcbx.testing")
    ]
    assert wrong == []


def test_html_is_written_only_in_texts_and_handlers() -> None:
    wrong: dict[str, list[int]] = {}
    for name in modules():
        if in_package(name, *HTML_ALLOWED):
            continue
        lines = []
        for node in ast.walk(tree_of(name)):
            markup = isinstance(node, ast.Constant) and isinstance(node.value, str)
            markup = markup and bool(HTML_TAG.search(node.value))  # type: ignore[attr-defined]
            escaping = isinstance(node, ast.Attribute) and node.attr == "escape"
            escaping = escaping and getattr(node.value, "id", None) == "html"  # type: ignore[attr-defined]
            if markup or escaping:
                lines.append(node.lineno)
        if lines:
            wrong[name] = sorted(set(lines))
    assert wrong == {}


@pytest.mark.parametrize("folder", sorted({p.parent for p in PACKAGE.rglob("*.py")}), ids=str)
def test_no_folder_holds_more_than_20_modules(folder: Path) -> None:
    assert len([p for p in folder.glob("*.py") if p.name != "__init__.py"]) <= 20


def test_no_module_over_600_lines() -> None:
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}


def test_no_function_over_80_lines() -> None:
    long = {}
    for name in modules():
        for node in ast.walk(tree_of(name)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > 80:
                    long[f"{name}.{node.name}"] = size
    assert long == {}


def test_no_history_in_the_code() -> None:
    """Comments say why the code is so (cite the rule); which issue asked for it is in git."""
    pattern = re.compile(r"\bissue \d+", re.IGNORECASE)
    found = [
        f"{name}:{n}"
        for name, path in modules().items()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
