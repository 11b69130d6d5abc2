"""Conversations that survive a restart: PTB's persistence, backed by the project's database.

A conversation in progress (its step, and the person's draft in user_data) is written within
a couple of seconds of each answer; after a restart, or a take-over by another instance, the
person is told that the entry was kept and can go on. An entry older than the conversations'
timeout is not brought back: the person is told, as at a timeout, that nothing was saved.
"""

from __future__ import annotations

import json
import logging
import pickle
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from kcbx.bot.domain.clock import Clock
from kcbx.bot.runtime.config import Config
from kcbx.storage.conversation_state import ConversationStateRepo
from kcbx.storage.db import Database

log = logging.getLogger(__name__)

USER_DATA = "user_data"
UPDATE_SECONDS = 2


@dataclass(frozen=True)
class Unfinished:
    conversation: str  # the ConversationHandler's name
    telegram_id: int


Data = dict[Any, Any]


class DatabasePersistence(BasePersistence[Data, Data, Data]):
    """Only conversations and user_data (the drafts) are kept; everything else lives in the
    database already."""

    def __init__(self, config: Config, clock: Clock, *, max_age: timedelta) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=UPDATE_SECONDS,
        )
        self._config = config
        self._clock = clock
        self._max_age = max_age
        self._db: Database | None = None
        self.resumed: list[Unfinished] = []
        self.expired: list[Unfinished] = []

    async def _repo(self) -> ConversationStateRepo:
        if self._db is None:
            self._db = await Database.open(self._config.db_path)
        return ConversationStateRepo(self._db)

    async def get_user_data(self) -> dict[int, Data]:
        out: dict[int, Data] = {}
        for row in await (await self._repo()).load(USER_DATA):
            try:
                out[int(row.key)] = pickle.loads(row.value)
            except Exception:  # a draft of an older version of the code: dropped
                log.warning("dropping a conversation draft that no longer loads (user %s)", row.key)
        return out

    async def get_chat_data(self) -> dict[int, Data]:
        return {}

    async def get_bot_data(self) -> Data:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        repo = await self._repo()
        now = self._clock.now()
        found: ConversationDict = {}
        for row in await repo.load(f"conversation:{name}"):
            key: ConversationKey = tuple(json.loads(row.key))
            user_id = int(key[-1]) if key else 0
            if now - row.updated_at > self._max_age:
                self.expired.append(Unfinished(name, user_id))
                await repo.save(f"conversation:{name}", row.key, None, now)
                continue
            found[key] = json.loads(row.value)
            self.resumed.append(Unfinished(name, user_id))
        return found

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        value = None if new_state is None else json.dumps(new_state).encode("utf-8")
        repo = await self._repo()
        await repo.save(f"conversation:{name}", json.dumps(list(key)), value, self._clock.now())

    async def update_user_data(self, user_id: int, data: Data) -> None:
        value = pickle.dumps(data) if data else None
        await (await self._repo()).save(USER_DATA, str(user_id), value, self._clock.now())

    async def drop_user_data(self, user_id: int) -> None:
        await (await self._repo()).save(USER_DATA, str(user_id), None, self._clock.now())

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        return None

    async def update_bot_data(self, data: Data) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    async def flush(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None
