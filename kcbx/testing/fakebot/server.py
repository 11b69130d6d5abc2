"""The fake Bot API server: its HTTP front, its lifecycle and the test-side controls."""

# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from kcbx.testing.fakebot.limits import (
    _LOGGER,
    MAX_DOWNLOAD,
    MAX_UPLOAD,
    ApiError,
    JSONDict,
    _flood,
)
from kcbx.testing.fakebot.methods import BotApiMethods
from kcbx.testing.fakebot.params import (
    _Params,
)
from kcbx.testing.fakebot.people import (
    FakeGroup,
    FakeUser,
)
from kcbx.testing.fakebot.records import (
    RecordedRequest,
)

# Bot API method -> the method of FakeBotApi that answers it (names compare case-insensitively)
_METHODS: dict[str, tuple[str, str]] = {
    name.lower(): (name, attribute)
    for name, attribute in {
        "getMe": "_get_me",
        "logOut": "_ok",
        "close": "_ok",
        "setWebhook": "_set_webhook",
        "deleteWebhook": "_delete_webhook",
        "getWebhookInfo": "_get_webhook_info",
        "getUpdates": "_get_updates",
        "setMyCommands": "_set_my_commands",
        "getMyCommands": "_get_my_commands",
        "deleteMyCommands": "_delete_my_commands",
        "setChatMenuButton": "_set_chat_menu_button",
        "getChatMenuButton": "_get_chat_menu_button",
        "sendMessage": "_send_message",
        "sendDocument": "_send_document",
        "sendPhoto": "_send_photo",
        "sendMediaGroup": "_send_media_group",
        "sendLocation": "_send_location",
        "editMessageText": "_edit_message_text",
        "editMessageCaption": "_edit_message_caption",
        "editMessageReplyMarkup": "_edit_message_reply_markup",
        "deleteMessage": "_delete_message",
        "answerCallbackQuery": "_answer_callback_query",
        "sendChatAction": "_send_chat_action",
        "getFile": "_get_file",
    }.items()
}


class FakeBotApi(BotApiMethods):
    """The fake Bot API server and the people around it."""

    @property
    def base_url(self) -> str:
        """What PTB's `base_url` expects: PTB appends the token, then `/method`."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """What PTB's `base_file_url` expects: PTB appends the token, then `/file_path`."""
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one, then `port` is the real one)."""
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        self._stopping = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Answer pending long polls with no updates, then close the server."""
        self._stopping = True
        await self._notify()
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def user(
        self,
        user_id: int,
        first_name: str = "测试用户",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        started: bool = False,
    ) -> FakeUser:
        """The person with this id (created on first call); `started` = has pressed Start."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        if user_id not in self._users:
            self._users[user_id] = FakeUser(
                self, user_id, first_name, last_name, username, language_code, started
            )
        return self._users[user_id]

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        chat_type: str | None = None,
        username: str | None = None,
    ) -> FakeGroup:
        """The group with this (negative) id that the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if chat_id not in self._groups:
            kind = chat_type or ("supergroup" if chat_id <= -1_000_000_000_000 else "group")
            self._groups[chat_id] = FakeGroup(self, chat_id, title, kind, username)
        return self._groups[chat_id]

    def fail_next(
        self,
        method: str,
        code: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail with `code` (429 carries retry_after)."""
        if code == 429:
            error = _flood(retry_after)
        else:
            error = ApiError(code, description or HTTPStatus(code).phrase)
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend([error] * times)

    def set_offline(self, offline: bool = True) -> None:
        """Simulate an outage: every call gets 502 Bad Gateway (PTB raises NetworkError)."""
        self._offline = offline
        if offline:
            task = asyncio.get_running_loop().create_task(self._notify())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by the bot."""
        return list(self._updates)

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded calls of one method (case-insensitive)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The commands set for this scope and language."""
        key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return list(self._commands.get((key, language_code), []))

    def menu_button(self, chat_id: int | None = None) -> JSONDict:
        """The menu button set for a private chat, or the default one."""
        return self._menu_buttons.get(chat_id, {"type": "commands"})

    async def wait_requests(
        self, n: int, method: str | None = None, timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """Wait until at least `n` calls (of `method`, if given) have been answered."""

        def matching() -> list[RecordedRequest]:
            return self.calls(method) if method else list(self.requests)

        await self._wait(lambda: len(matching()) >= n, timeout, lambda: f"{n} {method} calls")
        return matching()

    async def wait_polling(self, timeout: float = 10.0) -> None:
        """Wait until the bot has a getUpdates long poll waiting (it is ready for updates)."""
        await self._wait(lambda: self._polls_waiting > 0, timeout, lambda: "a getUpdates poll")

    async def _handle_api(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        name = request.match_info["method"]
        canonical, attribute = _METHODS.get(name.lower(), (name, ""))
        handler: Callable[[_Params], Any] | None = getattr(self, attribute) if attribute else None
        values: JSONDict = {}
        try:
            if self._offline:
                raise ApiError(502, "Bad Gateway")
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            values = await self._read_params(request)
            if handler is None:
                raise ApiError(404, "Not Found")
            failures = self._failures.get(canonical.lower())
            if failures:
                raise failures.popleft()
            result = await handler(_Params(values))
        except ApiError as error:
            response = self._reply(canonical, values, started, error)
        except Exception as exc:
            _LOGGER.exception("fake Bot API failed on %s", canonical)
            bug = ApiError(500, f"Internal Server Error: fake server bug: {exc!r}")
            response = self._reply(canonical, values, started, bug)
        else:
            response = self._reply(canonical, values, started, None, result)
        await self._notify()
        return response

    async def _handle_file(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        path = request.match_info["path"]
        values: JSONDict = {"file_path": path}
        if self._offline:
            error = ApiError(502, "Bad Gateway")
        elif request.match_info["token"] != self.token:
            error = ApiError(401, "Unauthorized")
        elif path not in self.stored.paths or self.stored.paths[path].file_size > MAX_DOWNLOAD:
            error = ApiError(404, "Not Found")
        else:
            self.requests.append(RecordedRequest("download", values, started, 200))
            self.stats.calls["download"] += 1
            await self._notify()
            return web.Response(body=self.stored.paths[path].data)
        response = self._reply("download", values, started, error)
        await self._notify()
        return response

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").payload(), status=404)
