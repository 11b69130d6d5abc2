"""The real bot against the fake Bot API server, with a controlled clock.

End-to-end tests and `kcbx demo` use this: it builds the Application through the same
composition root as `kcbx run`, polls the fake server over HTTP on loopback, and lets the
caller move time, run the sweep and drain the outbox explicitly (no sleeps, no timers).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.access import accept_invitation, create_invitation
from kcbx.testing.fakebot import FakeBotApi, FakeUser

os.environ.setdefault("PTB_TIMEDELTA", "1")


class BotHarness:
    """One fake server, one database file, one controlled clock; the bot can be restarted."""

    def __init__(
        self, db_path: Path, start: datetime, *, fake: FakeBotApi | None = None, **config: Any
    ) -> None:
        self.db_path = db_path
        self.clock = FakeClock(start)
        self._start = start
        self.fake = fake or FakeBotApi(token="123456:TEST-token_kcbx", bot_username="kcbx_bot")
        # Telegram's flood control lives in the story's time: an hour the test moves the clock
        # is an hour for its buckets too (a month in fast-forward is not a burst), while within
        # one instant of the story the real seconds between requests still count.
        self.fake.flood_clock = self._flood_time
        self._flood_last = 0.0
        self._config_overrides = config
        self.app: Any = None
        self.services: Services | None = None

    def _flood_time(self) -> float:
        moved = (self.clock.now() - self._start).total_seconds()
        self._flood_last = max(self._flood_last, time.monotonic() + moved)
        return self._flood_last

    @property
    def config(self) -> Config:
        base = Config(
            telegram_token=self.fake.token,
            telegram_api_url=self.fake.base_url,
            telegram_file_url=self.fake.base_file_url,
            bot_username=self.fake.bot_username,
            db_path=str(self.db_path),
            sweep_seconds=0,  # the caller drives sweeps and delivery
        )
        return replace(base, **self._config_overrides)

    async def __aenter__(self) -> BotHarness:
        await self.fake.start()
        await self.start_bot()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_bot()
        await self.fake.stop()

    async def start_bot(self) -> None:
        from kcbx.handlers.app import build_application, services_of

        self.app = build_application(self.config, clock=self.clock)
        await self.app.initialize()
        await self.app.post_init(self.app)  # run_polling would call it; we start by hand
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0, timeout=timedelta(seconds=1))
        self.services = services_of(self.app)
        await self.fake.wait_polling()

    async def stop_bot(self) -> None:
        if self.app is None:
            return
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        await self.app.post_shutdown(self.app)
        self.app = None
        self.services = None

    async def restart(self) -> None:
        """Stop the bot and start a new one on the same database (a crash and restart)."""
        await self.stop_bot()
        await self.start_bot()

    @property
    def s(self) -> Services:
        assert self.services is not None, "the bot is not running"
        return self.services

    async def settle(self) -> None:
        """Wait until the bot has finished handling every update it has taken (a handler may
        still write after its last message arrives; on PostgreSQL that takes a round trip)."""
        await self.app.update_queue.join()

    async def deliver(self) -> Any:
        from kcbx.handlers.jobs import deliver_now

        return await deliver_now(self.app)

    async def sweep(self, *, deliver: bool = True) -> Any:
        """One sweep at the clock's time, then (by default) drain the outbox."""
        from kcbx.handlers.jobs import notice_files_now, sweep_now

        result = await sweep_now(self.app)
        await notice_files_now(self.app)  # the notices' files, rendered off the sweep
        if deliver:
            await self.deliver()
        return result

    async def advance(self, delta: timedelta, *, sweep: bool = True) -> None:
        self.clock.advance(delta)
        if sweep:
            await self.sweep()

    async def set_time(self, when: datetime, *, sweep: bool = True) -> None:
        self.clock.set(when)
        if sweep:
            await self.sweep()

    async def join(
        self,
        user_id: int,
        *,
        role: Role,
        unit: str = "",
        name: str | None = None,
        phone: str | None = None,
        language_code: str = "zh-hans",
    ) -> FakeUser:
        """Invite a person and have them press /start <code> in chat, as a real person does."""
        invitation = await create_invitation(
            self.s, role=role, unit_text=unit, name=name, phone=phone, actor="cli:test"
        )
        user = self.fake.user(user_id, first_name=name or "用户", language_code=language_code)
        await user.send(f"/start {invitation.code}")
        await user.wait_for(lambda m: "/help" in m.plain)
        return user

    async def bind_quietly(self, user_id: int, *, phone: str, lang: str = "zh_CN") -> None:
        """Bind an imported person without the chat (seeding large scenarios fast)."""
        person = await self.s.people.by_phone(phone)
        assert person is not None, phone
        invitation = await create_invitation(
            self.s, role=person.role, unit_text="", name=None, phone=phone, actor="cli:test"
        )
        await accept_invitation(
            self.s, invitation.code, telegram_id=user_id, chat_id=user_id, lang=lang, name=""
        )
        self.fake.user(user_id, started=True)
