"""One instance per database, and a database that cannot be written stops `kcbx run` loudly.

The lease itself on a real database (taken, renewed, expired, taken over); then real
`kcbx run` processes against the fake Bot API: a second one is refused in one line, `kcbx
sweep` beside the running bot only queues, a read-only database refuses to start.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_cli_sweep import TOKEN, _seed, _state

from kcbx.bot.cli.main import main
from kcbx.bot.runtime.instance import InstanceLease, LeaseHeld
from kcbx.storage.connection.leases import LeaseRepo
from kcbx.storage.db import Database
from kcbx.testing.fakebot import FakeBotApi

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


async def test_a_lease_is_one_holder_s_until_it_expires(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "kcbx.db")
    try:
        repo, later = LeaseRepo(db), NOW + timedelta(seconds=30)
        args = {"host": "h", "pid": 1}
        assert await repo.acquire("bot", holder="a", now=NOW, until=later, **args)
        assert await repo.acquire("bot", holder="a", now=NOW, until=later, **args)  # ours
        assert not await repo.acquire("bot", holder="b", now=NOW, until=later, **args)
        assert await repo.renew("bot", holder="a", now=NOW, until=later)
        assert not await repo.renew("bot", holder="b", now=NOW, until=later)
        # a holds it while alive; once expired (a died), b takes it, and a has lost it
        expired = later + timedelta(seconds=1)
        assert not await repo.acquire("bot", holder="b", now=later, until=later, **args)
        taken = await repo.acquire("bot", holder="b", now=expired, until=expired, **args)
        assert taken
        assert not await repo.renew("bot", holder="a", now=expired, until=expired)
        lease = await repo.get("bot")
        assert lease is not None and lease.holder == "b" and lease.acquired_at == expired
        await repo.release("bot", holder="a")  # not a's to release
        assert (await repo.get("bot")) is not None
        await repo.release("bot", holder="b")
        assert await repo.get("bot") is None

        first = InstanceLease.of_this_process(db)
        await first.acquire()
        second = InstanceLease.of_this_process(db)
        with pytest.raises(LeaseHeld) as held:
            await second.acquire()
        assert f"pid {os.getpid()}" in held.value.line() and "kcbx run" in held.value.line()
        await first.release()
        await second.acquire()
        await second.release()
    finally:
        await db.close()


async def test_a_dead_holder_s_lease_is_taken_over(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "kcbx.db")
    try:
        clock = [datetime.now(UTC)]
        elsewhere = InstanceLease.of_this_process(db)
        elsewhere.host = "another-host"  # its death cannot be seen from here: wait for expiry
        await elsewhere.acquire()
        here = InstanceLease.of_this_process(db)
        here.clock = lambda: clock[0]
        with pytest.raises(LeaseHeld):
            await here.acquire()
        clock[0] += timedelta(seconds=31)  # no heartbeat for longer than the lease
        await here.acquire()
        assert not await elsewhere.renew()  # the old holder has lost it, and knows

        # a holder on this machine whose process has gone: taken over at once
        dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
        await dead.wait()
        gone = InstanceLease.of_this_process(db)
        gone.pid = dead.pid
        gone.holder = f"run@{gone.host}:{dead.pid}:dead"
        await here.release()
        await gone.acquire()
        successor = InstanceLease.of_this_process(db)
        await successor.acquire()
        lease = await LeaseRepo(db).get("bot")
        assert lease is not None and lease.holder == successor.holder
    finally:
        await db.close()


@pytest.fixture
def telegram() -> Iterator[tuple[FakeBotApi, asyncio.AbstractEventLoop]]:
    """The fake Bot API on its own event loop in a thread (processes and the CLI share it)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeBotApi(token=TOKEN, bot_username="kcbx_bot")
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake, loop
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _env(fake: FakeBotApi, db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KCBX_TELEGRAM_TOKEN": fake.token,
        "KCBX_TELEGRAM_API_URL": fake.base_url,
        "KCBX_TELEGRAM_FILE_URL": fake.base_file_url,
        "KCBX_DB": str(db),
    }


def _kcbx(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcbx.bot.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.single_backend  # the processes open the file they are given
def test_a_second_bot_is_refused_and_a_sweep_beside_it_only_queues(
    tmp_path: Path,
    telegram: tuple[FakeBotApi, asyncio.AbstractEventLoop],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, loop = telegram
    db = tmp_path / "kcbx.db"
    asyncio.run(_seed(db))
    # the running bot's own jobs are off, so whatever reaches Telegram would be the sweep's
    (tmp_path / "kcbx.toml").write_text("sweep_seconds = 0\n", encoding="utf-8")
    env = _env(fake, db)
    bot = subprocess.Popen(
        [sys.executable, "-m", "kcbx.bot.cli.main", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        asyncio.run_coroutine_threadsafe(fake.wait_polling(timeout=60), loop).result(70)
        met = len(fake.calls("getMe"))

        second = _kcbx("run", env=env, cwd=tmp_path)
        assert second.returncode == 2
        [line] = second.stderr.strip().splitlines()
        assert "Traceback" not in second.stderr
        assert f"kcbx run on {os.uname().nodename} (pid {bot.pid}) holds this database" in line
        assert len(fake.calls("getMe")) == met  # refused before it talked to Telegram

        for name, value in env.items():
            if name.startswith("KCBX_"):
                monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        assert main(["--db", str(db), "sweep", "--now", "2024-03-04T13:00"]) == 0
        out = capsys.readouterr().out
        assert f"kcbx run is running on {os.uname().nodename} (pid {bot.pid})" in out
        assert "this sweep only queues, the bot delivers" in out
        assert "1 messages wait in the outbox" in out
        assert fake.calls("sendMessage") == []
        assert asyncio.run(_state(db))[0] == {"pending": 1}
    finally:
        bot.send_signal(signal.SIGINT)
        _out, err = bot.communicate(timeout=60)
    assert bot.returncode == 0, err
    assert "Traceback" not in err
    # stopped cleanly, it gave the lease back: the next bot need not wait for it to expire
    lease = asyncio.run(_lease(db))
    assert lease is None


async def _lease(db: Path) -> object:
    database = await Database.open(db)
    try:
        return await LeaseRepo(database).get("bot")
    finally:
        await database.close()


def _read_only(path: Path) -> bool:
    """Make the file read-only, even for root (immutable); False if that is impossible."""
    path.chmod(0o444)
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    try:
        with path.open("ab"):
            return False
    except OSError:
        return True


def _writable(path: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
    path.chmod(0o644)


@pytest.mark.single_backend  # a read-only file is SQLite's case
def test_a_read_only_database_refuses_to_start_in_one_line(
    tmp_path: Path, telegram: tuple[FakeBotApi, asyncio.AbstractEventLoop]
) -> None:
    fake, _loop = telegram
    db = tmp_path / "kcbx.db"
    asyncio.run(_seed(db))
    try:
        if not _read_only(db):
            pytest.skip("cannot make a file read-only here")
        result = _kcbx("run", env=_env(fake, db), cwd=tmp_path)
        sweep = _kcbx("sweep", "--now", "2024-03-04T13:00", env=_env(fake, db), cwd=tmp_path)
    finally:
        _writable(db)
    for refused in (result, sweep):
        assert refused.returncode == 2
        assert "Traceback" not in refused.stderr
        [line] = refused.stderr.strip().splitlines()
        assert f"kcbx: the database {db} cannot be written" in line
        assert "readonly" in line
    assert fake.calls("getMe") == []


@pytest.mark.single_backend  # the process opens the file it is given
def test_a_file_that_is_not_a_database_is_one_line_and_the_process_ends(
    tmp_path: Path, telegram: tuple[FakeBotApi, asyncio.AbstractEventLoop]
) -> None:
    """KCBX_DB naming a spreadsheet (or a damaged file): one line and exit 2 from `kcbx run`
    and `kcbx sweep`, and the process ends (the connection's thread does not hold it)."""
    fake, _loop = telegram
    db = tmp_path / "roster.xlsx"
    db.write_bytes(b"PK\x03\x04 not a database " * 200)
    for args in (("run",), ("sweep", "--now", "2024-03-04T13:00")):
        result = _kcbx(*args, env=_env(fake, db), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line == f"kcbx: {db} is not a kcbx database (file is not a database)"
    assert fake.calls("getMe") == []
