"""`kcbx run` itself: the production entry point (run_polling, post_init, the jobs) answers
over HTTP against the fake Bot API server, and stops cleanly on SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from kcbx.storage.db import Database, migration_files
from kcbx.testing.fakebot import FakeBotApi


async def test_kcbx_run_serves_and_stops(tmp_path: Path, db_target: str) -> None:
    async with FakeBotApi(token="123456:RUN-token_kcbx", bot_username="kcbx_run_bot") as fake:
        env = {
            **os.environ,
            "KCBX_TELEGRAM_TOKEN": fake.token,
            "KCBX_TELEGRAM_API_URL": fake.base_url,
            "KCBX_TELEGRAM_FILE_URL": fake.base_file_url,
            "KCBX_DB": db_target,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kcbx.bot.cli",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_polling(timeout=60)
            stranger = fake.user(4242, first_name="路人", language_code="zh-hans")
            await stranger.send("/start")
            refusal = await stranger.next_message(timeout=30)
            assert "邀请" in refusal.plain
            # the default menus were published in post_init
            assert {c["command"] for c in fake.commands()} == {"start", "help"}
        finally:
            process.send_signal(signal.SIGINT)
            _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err
        database = await Database.open(db_target, migrate=False)  # it made and migrated it
        try:
            assert await database.versions() == [n for n, _, _ in migration_files()]
        finally:
            await database.close()
