"""End to end (issue 6): the notice to enrol by a deadline (A7.4) and the order to correct (A7.5).

The real bot against the fake Bot API, with the harness's clock: a case reaches day 15; the
bureau and the township both receive the notice as PDF and .docx; the bureau presses
"Issued"; the township cadre records the delivery with a photo of the signed receipt; the
deadline counts from the delivery; it passes with the child away; the order to correct
arrives with its own number and documents and is delivered in turn; the case card lists
both. Strangers to the case, forged presses, wrong dates and text where a photo was expected
are refused and write nothing.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image
from pypdf import PdfReader

from kcbx.bot.domain.ladder.state import ActionKind
from kcbx.bot.domain.model import Case
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.cases import ladder_of
from kcbx.testing.fakebot import FakeUser, SentMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district

SH = ZoneInfo("Asia/Shanghai")

BUREAU = (3, "13900000003")  # 教育局乙, bureau staff of 沙坡头区
TOWNSHIP = (10, "13900000010")  # 滨河镇长: the household's township (张三 lives in 新墩村一组)
OTHER_TOWNSHIP = (11, "13900000011")  # 文昌镇长: another township
CADRE = (12, "13900000012")  # 包村干部 of 新墩村, 滨河镇
TEACHER = (22, "13900000022")  # 李老师, 张三's class teacher: sees the case, issues nothing
LEAD = (21, "13900000021")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=SH)


def pdf_text(data: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return "".join(text.split())


def photo_bytes(colour: str = "white") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def day_15_case(harness: BotHarness) -> tuple[District, Case]:
    """张三, absent since Monday 4 March; A7.1-A7.3 done, so that day 15 brings only A7.4."""
    s = harness.s
    d = await small_district(s, T0)
    for uid, phone in (BUREAU, TOWNSHIP, OTHER_TOWNSHIP, CADRE, TEACHER, LEAD):
        await harness.bind_quietly(uid, phone=phone)
    case = await s.cases.open_case(
        student_id=d.students["张三"],
        reported_by=d.people[TEACHER[1]],
        absent_since=date(2024, 3, 4),
        cause="parents_unwilling",
        guardian_contact=None,
        note=None,
        now=at(3, 4, 9),
        year=2024,
        actor="cli:test",
    )
    done: list[tuple[str, str, dict[str, Any]]] = [
        (ActionKind.PHONE_CALL, TEACHER[1], {}),
        (ActionKind.HOME_VISIT, TEACHER[1], {}),
        (ActionKind.PERSUASION, LEAD[1], {}),
        (ActionKind.REGISTRY_MARK, LEAD[1], {}),
        (ActionKind.REPORTED_UP, LEAD[1], {}),
        (ActionKind.JOINT_PERSUASION, BUREAU[1], {}),
        (ActionKind.DEPARTMENT_ACTION, TOWNSHIP[1], {"department": "township"}),
        (ActionKind.DEPARTMENT_ACTION, BUREAU[1], {"department": "justice"}),
        (ActionKind.HOME_VISIT, CADRE[1], {}),
    ]
    for kind, phone, detail in done:
        await s.cases.record_action(
            case.id,
            kind=kind,
            actor_id=d.people[phone],
            at=at(3, 4, 10),
            now=at(3, 4, 10),
            detail=detail,
        )
    return d, case


def documents(user: FakeUser) -> dict[str, SentMessage]:
    """The documents a user received, by file extension (the latest of each)."""
    return {m.filename.rsplit(".", 1)[-1]: m for m in user.messages if m.filename}


async def notice_reminder(user: FakeUser, number: str) -> SentMessage:
    return await user.wait_for(lambda m: number in m.plain and bool(m.buttons))


async def deadline_of(services: Services, case: Case) -> date | None:
    state, _actions = await ladder_of(services, case)
    return state.notice_deadline


async def test_notice_delivered_deadline_passes_order_to_correct(harness: BotHarness) -> None:
    s = harness.s
    _d, case = await day_15_case(harness)
    bureau, township, cadre = (harness.fake.user(u) for u, _ in (BUREAU, TOWNSHIP, CADRE))

    # Day 14: nothing about a notice yet.
    await harness.set_time(at(3, 18, 12))
    assert await s.notices.of_case(case.id) == []

    # Day 15, 08:00 (A7.4): the bureau, who issues it (one owner), gets the notice, numbered,
    # as a PDF and a .docx, with "Issued"; the delivery is the township cadre's step.
    await harness.set_time(at(3, 19, 8))
    number = "沙教控辍〔2024〕1号"
    reminders = {}
    for user in (bureau,):
        reminders[user.id] = reminder = await notice_reminder(user, number)
        assert "限期入学通知书" in reminder.plain and "依据：第七条" in reminder.plain
        assert "已签发（已签字盖章）" in reminder.buttons
        assert "记录送达" not in reminder.buttons
        files = documents(user)
        assert set(files) == {"pdf", "docx"}
        pdf, docx = files["pdf"].document, files["docx"].document
        assert pdf is not None and pdf.startswith(b"%PDF") and docx is not None
        assert docx.startswith(b"PK")  # a Word (OOXML) package
        assert files["pdf"].filename == f"限期入学通知书_张三_{number}.pdf"
        # the caption is rendered like a message: parse mode set, the number bold, escaped once
        for file in files.values():
            assert file.parse_mode is not None and file.parse_mode.lower() == "html"
            assert "<b>" not in file.plain and "&lt;" not in file.plain
            assert f"限期入学通知书{number}" in file.plain or number in file.plain
        text = pdf_text(pdf)
        for expected in (
            "限期入学通知书",
            number,
            "张父：",  # the guardian, from the roster
            "张三（女）",
            "滨河小学三年级1班",
            "滨河镇新墩村一组",  # the household's address
            "2024年3月4日起无故未到校上学，至今已15天",
            "自本通知书送达之日起7日内送张三到滨河小学报到复学",  # runs from delivery
            "中华人民共和国义务教育法",
            "沙坡头区教育局",
            "沙坡头区滨河镇人民政府",  # the township's government in full (no [organs] given)
            "2024年3月19日",
            "送达回证",
        ):
            assert expected in text, expected
        assert text.count("（盖章）") == 2  # room for both seals
    assert not any(number in m.plain for m in township.messages)  # not the issuer
    assert len(await s.notices.of_case(case.id)) == 1
    assert await s.audit.entries(action="notice:send")  # each export is in the audit log

    # Nobody else may issue or record: not another township, not the class teacher who sees
    # the case, and not by forging the button's data.
    notice = (await s.notices.of_case(case.id))[0]
    other = harness.fake.user(OTHER_TOWNSHIP[0])
    teacher = harness.fake.user(TEACHER[0])
    for forger in (other, teacher):
        await forger.send("/help")
        anchor = await forger.wait_for(lambda m: "/help" in m.plain or "/notices" in m.plain)
        for data in (f"ntc:i:{notice.id}", f"ntc:d:{notice.id}", f"ntc:f:{notice.id}"):
            await forger.press_data(data, anchor)
            answer = await forger.next_callback_answer()
            assert answer.show_alert and "无权" in (answer.text or ""), answer
    await teacher.send("/notices")
    assert "无权" in (await teacher.next_message()).plain
    refreshed = await s.notices.get(notice.id)
    assert refreshed is not None and refreshed.status == "drafted"

    # 10:00 the bureau has printed, signed and stamped it: "Issued".
    harness.clock.set(at(3, 19, 10))
    reminder = reminders[bureau.id]
    await bureau.press("已签发（已签字盖章）", reminder)
    issued = await bureau.wait_for(lambda m: "已记录签发" in m.plain)
    assert "3月21日" in issued.plain  # to be delivered within 2 days (A7.4, ours)
    assert "已签发（已签字盖章）" not in reminder.buttons  # the pressed button is gone
    await bureau.press_data(f"ntc:i:{notice.id}", reminder)  # a second press, or a forged one
    assert "此前已记录签发" in (await bureau.wait_for(lambda m: "签发" in m.plain)).plain
    actions = [a.kind for a in await s.cases.actions(case.id)]
    assert actions.count(ActionKind.NOTICE_ISSUED) == 1  # recorded once

    # 20 March: the township cadre took it to the family and records the delivery (/notices).
    harness.clock.set(at(3, 20, 16))
    await cadre.send("/notices")
    listing = await cadre.wait_for(lambda m: number in m.plain)
    assert "待送达" in listing.plain
    await cadre.press("1. 记录送达", listing)
    ask = await cadre.wait_for(lambda m: "第1步" in m.plain)
    await cadre.send("2024年3月25日")  # in the future
    assert "不能晚于今天" in (await cadre.next_message()).plain
    await cadre.send("3月1日")  # before the notice was made
    assert "不能早于" in (await cadre.next_message()).plain
    await cadre.press("今天", ask)  # the text says the date
    who = await cadre.wait_for(lambda m: "第2步" in m.plain)
    await cadre.press("张父", who)
    await cadre.wait_for(lambda m: "第3步" in m.plain)
    await cadre.send("已经送到了")  # text where the photo was expected
    assert "回执" in (await cadre.next_message()).plain
    receipt = photo_bytes()
    await cadre.send_photo(receipt, file_size=30 * 1024 * 1024)  # an oversized file
    assert "文件过大" in (await cadre.next_message()).plain
    await cadre.send_photo(receipt)
    summary = await cadre.wait_for(lambda m: "请核对" in m.plain)
    assert "3月27日（周三）" in summary.plain  # 7 days from the delivery, not the issue
    assert (await s.notices.get(notice.id)).status == "issued"  # type: ignore[union-attr]
    await cadre.press("保存", summary)
    saved = await cadre.wait_for(lambda m: "已保存" in m.plain)
    assert "3月27日（周三）" in saved.plain

    delivered = await s.notices.get(notice.id)
    assert delivered is not None
    assert (delivered.status, delivered.delivered_on, delivered.delivered_to) == (
        "delivered",
        date(2024, 3, 20),
        "张父",
    )
    assert delivered.deadline == date(2024, 3, 27)
    assert delivered.receipt_blob_id is not None
    kept = await s.outbox.blob(delivered.receipt_blob_id)
    assert kept is not None and kept[0] == receipt  # the signed receipt, kept as sent
    action = next(a for a in await s.cases.actions(case.id) if a.kind == "notice_delivered")
    assert action.detail["delivered_on"] == "2024-03-20" and action.rule == "A7.4"
    assert await deadline_of(s, case) == date(2024, 3, 27)  # the ladder agrees

    # The guardians have the whole of 27 March; the order comes the next working morning.
    await harness.set_time(at(3, 27, 18))
    correction = "沙教控辍改〔2024〕1号"
    assert not any(correction in m.plain for m in bureau.messages)
    await harness.set_time(at(3, 28, 8))
    orders = {}
    for user in (bureau, township):
        orders[user.id] = order = await notice_reminder(user, correction)
        assert "责令限期改正" in order.plain and number in order.plain
        files = documents(user)
        assert files["pdf"].filename == f"责令限期改正通知书_张三_{correction}.pdf"
        text = pdf_text(files["pdf"].document or b"")
        assert "批评教育，责令限期改正通知书" in text
        assert f"此前已向你送达{number}《限期入学通知书》" in text  # one guardian: 你
        assert "自本通知书送达之日起7日内" in text
        # made as the deadline's day ends, the order is dated after it (A7.5)
        assert "责令于2024年3月27日前送其复学" in text and "2024年3月28日" in text

    # 28 March: the bureau reprimands the guardians in person and records the order's delivery.
    harness.clock.set(at(3, 28, 10))
    order = orders[bureau.id]
    await bureau.press("记录送达", order)
    ask = await bureau.wait_for(lambda m: "第1步" in m.plain)
    await bureau.press("今天", ask)
    await bureau.wait_for(lambda m: "第2步" in m.plain)
    await bureau.send("张父  父亲")
    await bureau.wait_for(lambda m: "第3步" in m.plain)
    await bureau.send_photo(photo_bytes("grey"))
    summary = await bureau.wait_for(lambda m: "请核对" in m.plain)
    await bureau.send("好的")  # text where a button was expected
    assert "按钮" in (await bureau.next_message()).plain
    await bureau.press("保存", summary)
    await bureau.wait_for(lambda m: "已保存" in m.plain and "4月4日" in m.plain)
    ordered = [a for a in await s.cases.actions(case.id) if a.kind == "correction_ordered"]
    assert len(ordered) == 1 and ordered[0].detail["deadline"] == "2024-04-04"
    state, _ = await ladder_of(s, case)
    assert state.correction_deadline == date(2024, 4, 4)
    a75 = state.task("A7.5")
    assert a75 is not None and a75.done

    # The case card lists both documents with their dates and delivery proof.
    await bureau.press("查看案件", order)
    await bureau.press("详情", await bureau.wait_for(lambda m: "详情" in m.buttons))
    card = await bureau.wait_for(lambda m: "限期入学通知书" in m.plain and correction in m.plain)
    for expected in (
        number,
        correction,
        "3月20日（周三）送达，张父签收",
        "回执照片已存",
        "期限3月27日（周三）",
        "3月28日（周四）送达，张父 父亲签收",
        "期限4月4日（周四）",
    ):
        assert expected in card.plain, expected

    # The order's deadline (4 April, a holiday) passes too: a renewed order, under a new
    # number, on the next working morning (Sunday 7 April, a swapped working day).
    await harness.set_time(at(4, 4, 18))
    assert not any("2号" in m.plain and "责令限期改正" in m.plain for m in bureau.messages)
    await harness.set_time(at(4, 7, 8))
    again = await notice_reminder(bureau, "沙教控辍改〔2024〕2号")
    assert "责令限期改正" in again.plain and "记录送达" in again.buttons
    assert [n.number for n in await s.notices.of_case(case.id)] == [
        number,
        correction,
        "沙教控辍改〔2024〕2号",
    ]

    # Every write is in the audit log.
    assert [e["action"] for e in await s.audit.entries(entity="notice")] == [
        "notice:render",
        "notice:send",  # to the bureau only: it issues (one owner)
        "notice:issue",
        "notice:deliver",
        "notice:render",
        "notice:send",
        "notice:send",
        "notice:deliver",
        "notice:render",
        "notice:send",
        "notice:send",
    ]


async def test_undelivered_notice_reminds_the_cadre_and_a_mistake_is_reissued(
    harness: BotHarness,
) -> None:
    """The bureau's clerk reads English (the documents stay Chinese); once issued, the
    delivery is the township cadre's own task (A7.4-deliver), told at once and owed within
    2 days; a notice with a mistake is re-issued under a new number; a group hears counts
    only; a stale button writes nothing."""
    s = harness.s
    _d, case = await day_15_case(harness)
    bureau, township, cadre = (harness.fake.user(u) for u, _ in (BUREAU, TOWNSHIP, CADRE))
    clerk = await s.people.by_phone(BUREAU[1])
    assert clerk is not None
    await s.people.set_language(clerk.id, "en", at(3, 4, 9))

    await harness.set_time(at(3, 19, 8))
    number = "沙教控辍〔2024〕1号"
    english = await bureau.wait_for(lambda m: number in m.plain and bool(m.buttons))
    assert "notice to enrol by a deadline is ready" in english.plain
    assert "Issued (signed and stamped)" in english.buttons
    assert "Record delivery" not in english.buttons  # the township cadre's step
    files = documents(bureau)
    assert "PDF, to read on the phone" in (files["pdf"].caption or "")
    assert "自本通知书送达之日起7日内" in pdf_text(files["pdf"].document or b"")  # still Chinese
    assert not any(number in m.plain for m in township.messages)

    # The clerk records the issue: the cadre is told at once, with the PDF to show the
    # family and "Record delivery", to deliver it by the end of 21 March.
    harness.clock.set(at(3, 19, 11))
    await bureau.press("Issued (signed and stamped)", english)
    await bureau.wait_for(lambda m: "Recorded" in m.plain and "21 Mar" in m.plain)
    await harness.set_time(at(3, 19, 11, 30))
    task = await cadre.wait_for(lambda m: number in m.plain and "记录送达" in m.buttons)
    assert "依据：第七条" in task.plain and "已签发" in task.plain
    assert set(documents(cadre)) == {"pdf"}

    # The bureau finds the guardian's name wrong on the roster, fixes it and re-issues.
    student = await s.students.get(case.student_id)
    assert student is not None
    async with s.db.transaction():
        await s.db.execute(
            "UPDATE guardians SET name = '张建国' WHERE student_id = ?", (student.id,)
        )
    harness.clock.set(at(3, 21, 19))
    await s.people.set_language(clerk.id, "zh_CN", harness.clock.now())
    await bureau.send("/notices")
    listing = await bureau.wait_for(lambda m: "期限进行中" in m.plain)
    assert number in listing.plain and "已签发，待送达" in listing.plain
    await bureau.press("1. 重新出具（新文号）", listing)
    ask = await bureau.wait_for(lambda m: "是否以新文号重新出具" in m.plain)
    await bureau.press("重新出具", ask)
    new_number = "沙教控辍〔2024〕2号"
    done = await bureau.wait_for(lambda m: "已重新出具" in m.plain)
    assert new_number in done.plain and number in done.plain
    reissued = await bureau.wait_for(lambda m: (m.filename or "").endswith(f"{new_number}.pdf"))
    text = pdf_text(reissued.document or b"")
    assert "张建国：" in text and f"本通知书替代{number}《限期入学通知书》" in text
    old, new = await s.notices.of_case(case.id)
    assert (old.status, new.replaces_id, new.number) == ("replaced", old.id, new_number)

    # The cadre's button on the old notice's reminder is refused: the new number is the one.
    await cadre.press("记录送达", task)
    await cadre.next_callback_answer()
    assert "已重新出具并作废" in (await cadre.wait_for(lambda m: "作废" in m.plain)).plain
    # A delivery button pressed after the record was closed writes nothing.
    await cadre.press_data("ntc:ok", task)
    stale = await cadre.next_callback_answer()
    assert stale.show_alert and "已关闭" in (stale.text or "")

    # A group the bureau is in hears counts, never a child's name.
    group = harness.fake.group(-100, "控辍保学工作群")
    await bureau.send("/notices", chat=group)
    counted = await group.wait_for(lambda m: "待签发或待送达" in m.plain)
    assert (
        "1份" in counted.plain and "张三" not in counted.plain and new_number not in counted.plain
    )

    # The card shows the void notice and its replacement; the old delivery task is gone.
    await bureau.send("/notices")
    await bureau.wait_for(lambda m: "期限进行中" in m.plain and new_number in m.plain)
    first = next(m for m in bureau.messages if "Open the case" in m.buttons)  # in English
    await bureau.press("Open the case", first)
    await bureau.press("详情", await bureau.wait_for(lambda m: "详情" in m.buttons))
    card = await bureau.wait_for(lambda m: "替代" in m.plain)
    assert f"《限期入学通知书》{number}" in card.plain and "已作废" in card.plain
    assert f"《限期入学通知书》{new_number}" in card.plain and f"替代{number}" in card.plain
    assert not [a for a in await s.cases.actions(case.id) if a.kind == "notice_delivered"]
