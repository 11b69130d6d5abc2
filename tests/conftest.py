"""Shared fixtures: a started bot on a fake Bot API server with a controlled clock, and the
two database backends.

Every test that can open a database (it takes ``tmp_path``, ``harness`` or ``db_target``)
runs twice: on SQLite files, and on PostgreSQL, where each file it opens is an empty,
migrated database of the session's (kcbx.testing.pg). Without a server the PostgreSQL half is
skipped with one line saying so; ``KCBX_TEST_PG=required`` makes that a failure (CI).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kcbx.demo.story import run_demo
from kcbx.storage.db import POSTGRESQL, SQLITE, resolve
from kcbx.testing import pg
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0

T = TypeVar("T")
_DATABASE_FIXTURES = {"harness", "tmp_path", "db_target"}
_PG_SKIPPED = pytest.StashKey[str]()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end on a loop of its own (not the test's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers a core. A test waits about half its time (the loopback HTTP
    of the fake Bot API, PostgreSQL's answers, the processes of `kcbx run`), so one worker a
    core leaves the cores idle (on two cores: 88 s with two workers, 75 s with four, 92 s
    with six)."""
    return min(2 * (os.cpu_count() or 1), 16)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "single_backend: runs once, not once per backend (opens no database, or picks its own)",
    )
    mode = pg.mode()
    if mode == "off":
        config.stash[_PG_SKIPPED] = "KCBX_TEST_PG=off"
        return
    problem = _run(pg.probe(pg.admin_url()))
    if problem is None:
        return
    where = pg.admin_url()
    if mode == "required":
        raise pytest.UsageError(
            f"KCBX_TEST_PG=required but no PostgreSQL server answers at {where}: {problem}"
        )
    config.stash[_PG_SKIPPED] = f"no server at {where} ({problem})"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("single_backend"):
        return
    if not _DATABASE_FIXTURES & set(metafunc.fixturenames):
        return
    skipped = metafunc.config.stash.get(_PG_SKIPPED, None)
    marks = [pytest.mark.skip(reason=f"PostgreSQL: {skipped}")] if skipped else []
    metafunc.parametrize(
        "db_backend",
        [SQLITE, pytest.param(POSTGRESQL, marks=marks, id="pg")],
        indirect=True,
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    skipped = config.stash.get(_PG_SKIPPED, None)
    if skipped:
        terminalreporter.write_line(
            f"PostgreSQL half skipped: {skipped}; KCBX_TEST_PG=required makes this a failure"
        )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PgServer]:
    """This session's PostgreSQL databases (made on first use, dropped at the end)."""
    server = pg.PgServer(pg.admin_url())
    try:
        yield server
    finally:
        _run(server.stop())


@pytest.fixture(autouse=True)
def db_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend this run of the test uses; on PostgreSQL every file opened is a database
    of the session's, emptied for the next test when this one ends."""
    backend = getattr(request, "param", SQLITE)
    if backend != POSTGRESQL:
        yield SQLITE
        return
    server: pg.PgServer = request.getfixturevalue("pg_server")
    redirect = pg.FileRedirect(server)
    redirect.install()
    try:
        yield POSTGRESQL
    finally:
        redirect.remove()
        _run(server.give_back(redirect.urls))


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty, migrated PostgreSQL database of the session's (skipped without a server)."""
    skipped = request.config.stash.get(_PG_SKIPPED, None)
    if skipped:
        pytest.skip(f"PostgreSQL: {skipped}")
    server: pg.PgServer = request.getfixturevalue("pg_server")
    url = _run(server.take())
    try:
        yield url
    finally:
        _run(server.give_back([url]))


@pytest.fixture
async def db_target(tmp_path: Path, db_backend: str) -> str:
    """What to give a process of its own as KCBX_DB: a file, or the test's PostgreSQL URL."""
    return await resolve(tmp_path / "kcbx.db")


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with BotHarness(tmp_path / "kcbx.db", T0) as h:
        yield h


@pytest.fixture(scope="session")
def demo_month(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, Path]:
    """`kcbx demo`'s month in Chinese (300 students, its SQLite database kept), played once
    for the whole run and shared by the workers. Tests only read it (copy the database to
    write to it)."""
    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent  # the run's, shared by the workers
    out = root / "demo-month"
    with open(root / "demo-month.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        played = root / "demo-month.json"
        if not played.exists():
            artefacts = _run(run_demo(out=out, students=300, lang="zh_CN", keep=True))
            played.write_text(json.dumps({k: str(v) for k, v in artefacts.items()}))
        return {k: Path(v) for k, v in json.loads(played.read_text()).items()}
