"""Crashes during delivery lose nothing and repeat at most the message in flight.

The process is "killed" in-process at a random step of delivery (before a call to the Bot
API leaves, after its answer came back, before any outbox write): from that instant nothing
of that instance reaches the database or Telegram any more, as after a SIGKILL, and a new
instance starts on the same database. Counted at the fake Bot API: what each person got.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from kcbx.bot.engine.transport import ButtonRows, Sent, Transport
from kcbx.handlers.jobs import delivery_of
from kcbx.storage.outbox import OutgoingMessage, Queued
from kcbx.testing.fakebot import FakeBotApi
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0

CHATS, PER_CHAT, CRASHES = 120, 2, 20
STEPS_PER_MESSAGE = 4  # claim, call leaves, answer back, record


class Killed(BaseException):
    """The process died here (BaseException: nothing in the bot catches it)."""


class Killer:
    """Kills at the ``at``-th step; every later step of the same instance dies as well."""

    def __init__(self, at: int) -> None:
        self.at, self.steps, self.dead = at, 0, False

    def step(self) -> None:
        if self.dead:
            raise Killed
        self.steps += 1
        if self.steps >= self.at:
            self.dead = True
            raise Killed


class KillableTransport:
    def __init__(self, inner: Transport, killer: Killer) -> None:
        self.inner, self.killer = inner, killer

    async def _around(self, call: Callable[[], Awaitable[Sent]]) -> Sent:
        self.killer.step()  # before the request leaves
        sent = await call()
        self.killer.step()  # the answer came back, not recorded yet
        return sent

    async def send_text(self, chat_id: int, text: str, buttons: ButtonRows = (), **kw: Any) -> Sent:
        return await self._around(lambda: self.inner.send_text(chat_id, text, buttons, **kw))

    async def send_file(self, *args: Any, **kwargs: Any) -> Sent:
        return await self._around(lambda: self.inner.send_file(*args, **kwargs))

    async def send_album(self, *args: Any, **kwargs: Any) -> tuple[Sent, ...]:
        return await self.inner.send_album(*args, **kwargs)

    async def send_location(self, *args: Any, **kwargs: Any) -> Sent:
        return await self.inner.send_location(*args, **kwargs)

    async def edit_text(self, *args: Any, **kwargs: Any) -> None:
        self.killer.step()
        await self.inner.edit_text(*args, **kwargs)


def arm(harness: BotHarness, killer: Killer) -> None:
    delivery = delivery_of(harness.app)
    delivery.transport = KillableTransport(delivery.transport, killer)
    outbox = harness.s.outbox
    for name in ("claim", "mark_sent", "retry_later", "mark_final", "recover"):
        write = getattr(outbox, name)

        async def killable(*args: Any, _write: Any = write, **kwargs: Any) -> Any:
            killer.step()
            return await _write(*args, **kwargs)

        setattr(outbox, name, killable)


async def test_twenty_crashes_lose_nothing_and_repeat_only_what_was_in_flight(
    tmp_path: Path,
) -> None:
    rng = random.Random(12)
    fake = FakeBotApi(
        token="123456:TEST-token_kcbx", bot_username="kcbx_bot", overall_per_second=300
    )
    async with BotHarness(tmp_path / "kcbx.db", T0, fake=fake, overall_max_rate=250) as h:
        users = [h.fake.user(7000 + i, started=True) for i in range(CHATS)]
        items = [
            Queued(key=f"t:{u.id}:{n}", chat_id=u.id, message=OutgoingMessage(text=f"{n}: {u.id}"))
            for n in range(PER_CHAT)
            for u in users
        ]
        await h.s.outbox.enqueue_many(items, now=h.clock.now())
        crashes = 0
        while crashes < CRASHES:
            left = len(items) - (await h.s.outbox.counts()).get("sent", 0)
            gap = max(1, STEPS_PER_MESSAGE * left // (CRASHES - crashes + 2))
            killer = Killer(rng.randint(1, 2 * gap))
            arm(h, killer)
            try:
                await h.deliver()
            except Killed:
                crashes += 1
            await h.restart()
            if not killer.dead:
                break
        for _ in range(20):  # until drained: retries are due after their back-off
            counts = await h.s.outbox.counts()
            if counts.get("sent", 0) + counts.get("failed", 0) == len(items):
                break
            h.clock.advance(timedelta(minutes=2))
            await h.deliver()

        got = Counter((u.id, m.plain) for u in users for m in u.messages)
        lost = [i.key for i in items if got[(i.chat_id, i.message.text)] == 0]
        duplicates = sum(n - 1 for n in got.values())
        print(
            f"\n{crashes} crashes, {len(items)} messages: {len(lost)} lost, {duplicates} "
            f"duplicates, at most {max(got.values())} copies; outbox {counts}"
        )
        assert crashes == CRASHES
        assert lost == []
        assert duplicates <= CRASHES
        assert max(got.values()) <= 2
        assert sum(got.values()) == len(items) + duplicates  # nothing else was sent
