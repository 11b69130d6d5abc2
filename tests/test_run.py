"""`kcbx run` itself: the production entry point (run_polling, post_init, the jobs) answers
over HTTP against the fake Bot API server, and stops cleanly on SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

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
            "kcbx.bot.cli.main",
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_kcbx_run_in_webhook_mode_behind_a_proxy(tmp_path: Path, db_target: str) -> None:
    """`kcbx run --webhook URL --listen HOST:PORT`: the bot sets its webhook with a secret,
    answers what Telegram posts to it, refuses a post without the secret, and deletes nothing
    it should keep (the fake refuses getUpdates while the webhook is set)."""
    port = _free_port()
    public = "https://kcbx.example.gov.cn/tg"
    async with FakeBotApi(token="123456:HOOK-token_kcbx", bot_username="kcbx_hook_bot") as fake:
        fake.route[public] = f"http://127.0.0.1:{port}/tg"  # the reverse proxy
        env = {
            **os.environ,
            "KCBX_TELEGRAM_TOKEN": fake.token,
            "KCBX_TELEGRAM_API_URL": fake.base_url,
            "KCBX_TELEGRAM_FILE_URL": fake.base_file_url,
            "KCBX_DB": db_target,
            "KCBX_WEBHOOK_SECRET": "s3cret-of_the_county",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kcbx.bot.cli.main",
            "run",
            "--webhook",
            public,
            "--listen",
            f"127.0.0.1:{port}",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_requests(1, "setWebhook", timeout=60)
            assert fake.webhook_url == public and fake.webhook_secret == "s3cret-of_the_county"
            stranger = fake.user(4343, first_name="路人", language_code="zh-hans")
            await stranger.send("/start")
            refusal = await stranger.next_message(timeout=30)
            assert "邀请" in refusal.plain
            assert fake.calls("getUpdates") == []
            # a post that does not carry the secret is refused by the bot
            async with aiohttp.ClientSession() as session:
                forged = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/x"}}
                async with session.post(fake.route[public], json=forged) as response:
                    assert response.status == 403
        finally:
            process.send_signal(signal.SIGINT)
            _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err
