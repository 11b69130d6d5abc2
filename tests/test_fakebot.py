"""The strict fake Bot API server, driven by real PTB over HTTP on loopback."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from html import escape

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from kcbx.testing.fakebot import FakeBotApi, parse_html

TOKEN = "123456:TEST-token"


def png(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def build_app(fake: FakeBotApi, max_retries: int = 1) -> Application:
    """The application as kcbx builds it, pointed at the fake server."""
    return (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .rate_limiter(AIORateLimiter(max_retries=max_retries))
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .build()
    )


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with the deep-link payload and a button."""
    assert update.effective_user and update.effective_message
    name = escape(update.effective_user.first_name)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok:1")]])
    await update.effective_message.reply_text(
        f"你好 <b>{name}</b>，参数 {escape(' '.join(context.args or []))}", reply_markup=keyboard
    )


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo as plain text."""
    assert update.effective_message and update.effective_message.text
    await update.effective_message.reply_text(update.effective_message.text, parse_mode=None)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and replace the message."""
    query = update.callback_query
    assert query is not None
    await query.answer("已确认")
    await query.edit_message_text(f"已确认 <i>{escape(query.data or '')}</i>")


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download the photo and tell its size."""
    message = update.effective_message
    assert message and message.photo
    file = await message.photo[-1].get_file()
    data = await file.download_as_bytearray()
    await message.reply_text(f"收到 {len(data)} 字节 {bytes(data[:4])!r}", parse_mode=None)


async def on_summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply in the group."""
    assert update.effective_message
    await update.effective_message.reply_text("<b>汇总</b>")


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta periods: otherwise every RetryAfter warns (an error here)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN, bot_username="kcbx_test_bot") as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    """A plain Bot without a rate limiter: sees every error as Telegram sends it."""
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as plain:
        yield plain


@pytest.fixture
async def running(fake: FakeBotApi) -> AsyncIterator[Application]:
    app = build_app(fake)
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CommandHandler("summary", on_summary))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    app.add_handler(CallbackQueryHandler(on_button))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=timedelta(seconds=1))
    yield app
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


async def test_conversation_with_the_real_bot(
    fake: FakeBotApi,
    running: Application,
) -> None:
    teacher = fake.user(1001, first_name="<张老师>")
    await teacher.send("/start abc")
    greeting = await teacher.next_message()
    assert greeting.plain == "你好 <张老师>，参数 abc"
    assert greeting.text == "你好 <b>&lt;张老师&gt;</b>，参数 abc"
    assert greeting.button_data == {"确认": "ok:1"}

    await teacher.press("确认")
    edited = await teacher.next_message()
    assert edited is greeting
    assert (edited.plain, edited.edits, edited.buttons) == ("已确认 ok:1", 1, [])
    answer = await teacher.next_callback_answer()
    assert (answer.text, answer.show_alert, answer.data) == ("已确认", False, "ok:1")

    await teacher.send("1 < 2 & <b>")
    assert (await teacher.next_message()).text == "1 < 2 & <b>"

    await teacher.send_photo(png(), caption="家访照片")
    reply = await teacher.next_message()
    assert reply.plain == f"收到 {len(png())} 字节 {png()[:4]!r}"
    assert teacher.inbox() == []
    assert fake.stats.errors == {}


async def test_group_commands_reach_the_bot_and_other_chatter_does_not(
    fake: FakeBotApi,
    running: Application,
) -> None:
    principal = fake.user(1002, first_name="王校长")
    office = fake.group(-4001, "县教育局")
    await principal.send("大家好", chat=office)
    assert fake.pending_updates == []
    await principal.send("/summary@kcbx_test_bot", chat=office)
    summary = await office.next_message()
    assert summary.plain == "汇总"
    assert summary.reply_to_message_id is not None
    assert principal.messages == []


async def test_text_length_is_counted_in_utf16_after_parsing(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(7, started=True)
    await bot.send_message(user.id, "<b>" + "字" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(user.id, "&lt;" * 4096, parse_mode="HTML")
    assert user.messages[-1].plain == "<" * 4096
    for too_long in ("a" * 4097, "😀" * 2049, "<b>" + "a" * 4097 + "</b>"):
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(user.id, too_long, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(user.id, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(user.id, b"x", filename="a.txt", caption="长" * 1025)


@pytest.mark.parametrize(
    "source",
    ["1 < 2", "<b>bold", "<b>x</i>", "x</b>", "<br>", "A & B", "<span>x</span>", "<b"],
)
async def test_html_telegram_cannot_parse_is_rejected(
    fake: FakeBotApi, bot: Bot, source: str
) -> None:
    user = fake.user(7, started=True)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(user.id, source, parse_mode="HTML")
    await bot.send_message(user.id, source)
    assert user.messages[-1].plain == source.strip()


async def test_markdown_is_not_our_parse_mode(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(7, started=True)
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(user.id, "*x*", parse_mode="MarkdownV2")


def test_parse_html_gives_plain_text_and_entities() -> None:
    text, entities = parse_html(
        '<b>粗</b> <a href="https://example.org/?a=1&amp;b=2">链</a> '
        '<pre><code class="language-python">x</code></pre> &#x1F600;'
    )
    assert text == "粗 链 x 😀"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "text_link", "offset": 2, "length": 1, "url": "https://example.org/?a=1&b=2"},
        {"type": "pre", "offset": 4, "length": 1, "language": "python"},
    ]


async def test_callback_data_is_limited_to_64_bytes(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(7, started=True)

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("按钮", callback_data=data)]])

    await bot.send_message(user.id, "ok", reply_markup=keyboard("c" * 64))
    for data in ("c" * 65, "案" * 22):
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(user.id, "too long", reply_markup=keyboard(data))
    with pytest.raises(BadRequest, match=r"(?i)Wrong HTTP URL"):
        await bot.send_message(
            user.id,
            "bad url",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", url="localhost")]]),
        )


async def test_who_the_bot_may_write_to(fake: FakeBotApi, bot: Bot) -> None:
    stranger = fake.user(8, first_name="陌生人")
    with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
        await bot.send_message(stranger.id, "你好")
    await stranger.send("/start")
    await bot.send_message(stranger.id, "你好")
    stranger.block()
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(stranger.id, "还在吗")
    stranger.unblock()
    await bot.send_message(stranger.id, "还在吗")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "谁")
    assert [m.plain for m in stranger.inbox()] == ["你好", "还在吗"]


async def test_edits_deletes_and_callback_answers_are_checked(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(9, started=True)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="y")]])
    sent = await bot.send_message(user.id, "<b>问</b>", parse_mode="HTML", reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>问</b>", user.id, sent.message_id, parse_mode="HTML", reply_markup=keyboard
        )
    await bot.edit_message_text("<b>问</b>", user.id, sent.message_id, parse_mode="HTML")
    assert user.messages[0].buttons == []
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", user.id, 999)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")
    with pytest.raises(AssertionError, match=r"(?i)no inline button '否'"):
        await user.press("否")
    await bot.delete_message(user.id, sent.message_id)
    assert user.messages[0].deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)


async def test_press_needs_one_answer_of_at_most_200_chars(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(9, started=True)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="y")]])
    await bot.send_message(user.id, "问", reply_markup=keyboard)
    query_id = await user.press("y")
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="长" * 201)
    await bot.answer_callback_query(query_id, text="好", show_alert=True)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    assert (await user.next_callback_answer()).show_alert is True


async def test_reply_keyboard_and_chat_actions(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(10, started=True)
    await bot.send_message(
        user.id, "选择", reply_markup=ReplyKeyboardMarkup([["上报缺课"], ["我的个案"]])
    )
    await bot.send_chat_action(user.id, "typing")
    assert user.messages[-1].reply_keyboard == ["上报缺课", "我的个案"]
    assert user.chat_actions == ["typing"]
    await user.tap("我的个案")
    assert fake.pending_updates[-1]["message"]["text"] == "我的个案"


async def test_flood_is_served_as_429_and_the_rate_limiter_retries() -> None:
    async with FakeBotApi(token=TOKEN, private_burst=2) as fake:
        user = fake.user(11, started=True)
        app = build_app(fake, max_retries=1)
        await app.initialize()
        try:
            for n in range(3):
                await app.bot.send_message(user.id, f"第{n + 1}条")
        finally:
            await app.shutdown()
        assert [m.plain for m in user.messages] == ["第1条", "第2条", "第3条"]
        assert fake.stats.too_many_requests == 1
        flooded = [r for r in fake.calls("sendMessage") if r.status == 429]
        assert flooded[0].description == "Too Many Requests: retry after 1"


async def test_group_and_overall_flood_limits() -> None:
    async with FakeBotApi(token=TOKEN, overall_per_second=30) as fake:
        office = fake.group(-4002, "乡镇中心校")
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            for n in range(20):
                await bot.send_message(office.chat_id, f"{n}")
            with pytest.raises(RetryAfter) as flood:
                await bot.send_message(office.chat_id, "21")
            assert flood.value.retry_after == timedelta(seconds=3)
    async with FakeBotApi(token=TOKEN, overall_per_second=3) as fake:
        users = [fake.user(20 + n, started=True) for n in range(4)]
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            for user in users[:3]:
                await bot.send_message(user.id, "通知")
            with pytest.raises(RetryAfter):
                await bot.send_message(users[3].id, "通知")


async def test_flood_control_counts_the_storys_time_and_a_persons_pace() -> None:
    """A month in fast-forward is not a burst: the seconds a test moves its clock, and a
    second for each thing a person does, refill the buckets; within one instant of the
    story a burst is still a burst."""
    story = [0.0]
    async with FakeBotApi(
        token=TOKEN, private_burst=2, flood_clock=lambda: time.monotonic() + story[0]
    ) as fake:
        user = fake.user(13, started=True)
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            await bot.send_message(user.id, "1")
            await bot.send_message(user.id, "2")
            with pytest.raises(RetryAfter):
                await bot.send_message(user.id, "3")
            story[0] += 3600  # an hour of the story later
            await bot.send_message(user.id, "3")
            await bot.send_message(user.id, "4")
            with pytest.raises(RetryAfter):
                await bot.send_message(user.id, "5")
            await user.send("好的")  # the person answers: a second of theirs
            await bot.send_message(user.id, "5")
        assert [m.plain for m in user.messages] == ["1", "2", "3", "4", "5"]


async def test_injected_failures_and_outages(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(12, started=True)
    fake.fail_next("sendMessage", code=429, retry_after=1)
    with pytest.raises(RetryAfter):
        await bot.send_message(user.id, "x")
    fake.fail_next("SENDMESSAGE", code=500)
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "x")
    fake.set_offline(True)
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "x")
    fake.set_offline(False)
    await bot.send_message(user.id, "恢复")
    assert [m.plain for m in user.messages] == ["恢复"]
    assert fake.stats.too_many_requests == 1
    assert fake.stats.errors[500] == 1


async def test_rate_limiter_rides_out_an_injected_429(fake: FakeBotApi) -> None:
    user = fake.user(13, started=True)
    app = build_app(fake, max_retries=1)
    await app.initialize()
    try:
        fake.fail_next("sendMessage", code=429, retry_after=1)
        await app.bot.send_message(user.id, "终于")
    finally:
        await app.shutdown()
    assert [m.plain for m in user.messages] == ["终于"]
    assert fake.stats.too_many_requests == 1


async def test_long_poll_returns_at_once_on_update_on_conflict_and_on_stop() -> None:
    fake = FakeBotApi(token=TOKEN)
    await fake.start()
    user = fake.user(14)
    async with (
        Bot(TOKEN, base_url=fake.base_url) as first,
        Bot(TOKEN, base_url=fake.base_url) as second,
    ):
        began = time.monotonic()
        poll = asyncio.create_task(first.get_updates(timeout=5))
        await fake.wait_polling()
        await user.send("/start")
        updates = await poll
        assert updates[0].message and updates[0].message.text == "/start"

        poll = asyncio.create_task(first.get_updates(offset=updates[0].update_id + 1, timeout=5))
        await fake.wait_polling()
        superseding = asyncio.create_task(second.get_updates(timeout=5))
        with pytest.raises(Conflict):
            await poll
        await fake.wait_polling()
        await fake.stop()
        assert await superseding == ()
        assert time.monotonic() - began < 3


async def test_files_round_trip(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(15, started=True)
    await bot.send_document(
        user.id, b"%PDF-1.4 report", filename="月报.pdf", caption="<b>月报</b>", parse_mode="HTML"
    )
    document = user.messages[-1]
    assert (document.document, document.filename, document.plain) == (
        b"%PDF-1.4 report",
        "月报.pdf",
        "月报",
    )
    assert document.mime_type == "application/pdf"
    assert document.file_id is not None
    file = await bot.get_file(document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 report"

    await bot.send_photo(user.id, png(40, 30))
    assert user.messages[-1].photo == png(40, 30)
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(user.id, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(user.id, png(2100, 100))

    huge = await user.send_photo(png(), file_size=21 * 1024 * 1024)
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(huge["photo"][-1]["file_id"])
    sent = await user.send_document(b"a,b\n1,2\n", "名单.csv")
    file = await bot.get_file(sent["document"]["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"


async def test_commands_and_menu_button(fake: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([("start", "开始"), ("report", "上报缺课")], language_code="zh")
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == [
        "start",
        "report",
    ]
    assert await bot.get_my_commands() == ()
    for command, description in (("Start", "开始"), ("a" * 33, "x"), ("start", "")):
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND"):
            await bot.set_my_commands([(command, description)])
    await bot.delete_my_commands(language_code="zh")
    assert fake.commands(language_code="zh") == []
    await bot.set_chat_menu_button()
    assert fake.menu_button() == {"type": "default"}


async def test_any_parameter_encoding_and_auth(fake: FakeBotApi) -> None:
    user = fake.user(16, started=True)
    url = f"{fake.base_url}{TOKEN}"
    async with aiohttp.ClientSession() as http:
        markup = {"inline_keyboard": [[{"text": "好", "callback_data": "k"}]]}
        body = {"chat_id": user.id, "text": "json", "reply_markup": markup}
        async with http.post(f"{url}/sendMessage", json=body) as response:
            assert (await response.json())["result"]["reply_markup"] == markup
        async with http.get(f"{url}/sendmessage", params={"chat_id": user.id, "text": "q"}) as r:
            assert r.status == 200
        async with http.post(f"{url}/sendMessage", data={"chat_id": "16", "text": "form"}) as r:
            assert r.status == 200
        async with http.post(f"{fake.base_url}1:wrong/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{url}/sendSticker") as response:
            assert (response.status, (await response.json())["description"]) == (404, "Not Found")
    assert [m.plain for m in user.messages] == ["json", "q", "form"]
    assert fake.calls("sendMessage")[0].params["chat_id"] == user.id


async def test_send_media_group_is_strict_and_sends_all_or_none(fake: FakeBotApi, bot: Bot) -> None:
    user = fake.user(7, started=True)
    stored = [(await user.send_photo(png()))["photo"][-1]["file_id"] for _ in range(11)]
    before = len(user.messages)
    album = [InputMediaPhoto(stored[0], caption="<b>家访</b>", parse_mode=ParseMode.HTML)]
    for bad, error in (
        ([*album], r"(?i)wrong number of media"),
        ([*album, *(InputMediaPhoto(f) for f in stored[1:])], r"(?i)wrong number of media"),
        ([*album, InputMediaPhoto("no-such-file")], r"(?i)wrong file identifier"),
    ):
        with pytest.raises(BadRequest, match=error):
            await bot.send_media_group(user.id, bad)
    assert len(user.messages) == before
    sent = await bot.send_media_group(user.id, [*album, InputMediaPhoto(stored[1])])
    assert len(sent) == 2 and sent[0].caption == "家访" and sent[0].media_group_id
    assert sent[0].media_group_id == sent[1].media_group_id
    shown = user.messages[-2:]
    assert [m.file_id for m in shown] == stored[:2] and shown[0].plain == "家访"


async def test_the_transport_sends_stored_photos_as_albums_of_ten(
    fake: FakeBotApi, bot: Bot
) -> None:
    from kcbx.handlers.transport import TelegramTransport

    fake.flood_control = False  # eleven photos at once; the real bot's rate limiter spaces them
    user = fake.user(7, started=True)
    stored = tuple([(await user.send_photo(png()))["photo"][-1]["file_id"] for _ in range(11)])
    before = len(user.messages)
    sent = await TelegramTransport(bot).send_album(user.id, stored, "<b>2026-11-30</b> 李干部")
    shown = user.messages[before:]
    assert len(sent) == len(shown) == 11
    assert [m.file_id for m in shown] == list(stored)
    assert len({m.media_group_id for m in shown[:10]}) == 1 and shown[10].media_group_id is None
    assert [m.plain for m in shown if m.plain] == ["2026-11-30 李干部"]
