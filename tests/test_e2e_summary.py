"""End to end (issue 5): /summary through the real bot and the fake Bot API server.

One database, three leaders: each gets exactly their scope; the drill-down reaches a case
card; a forged press is refused; a group chat sees counts and never a child's name; the
chart arrives as a photo; /export sends the ledger and audits it.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta
from types import SimpleNamespace

import msoffcrypto
import openpyxl
import pytest

from kcbx.bot.documents.protect import decrypt
from kcbx.handlers.jobs import sweep_job_of, sweep_now
from kcbx.handlers.records import delete_due_messages
from kcbx.storage import rollups
from kcbx.testing.fakebot import FakeUser, SentMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district

NAMES = ("张三", "李四", "王五", "<小明>", "赵六", "钱七", "孙八", "周九")


async def seed(harness: BotHarness) -> District:
    """Four open cases: three pupils of 滨河小学 (钱七's household is in 文昌镇), one of
    文昌中学. 张三 is a dropout (day 7), 孙八 at the notice stage (day 20)."""
    district = await small_district(harness.s, T0)
    for name, since in (
        ("张三", date(2024, 2, 26)),
        ("王五", date(2024, 3, 1)),
        ("钱七", date(2024, 3, 3)),
        ("孙八", date(2024, 2, 13)),
    ):
        await harness.s.cases.open_case(
            student_id=district.students[name],
            reported_by=None,
            absent_since=since,
            cause="unknown",
            guardian_contact=None,
            note=None,
            now=T0,
            year=2024,
            actor="cli:test",
        )
    return district


async def bind(harness: BotHarness, user_id: int, phone: str) -> FakeUser:
    await harness.bind_quietly(user_id, phone=phone)
    return harness.fake.user(user_id)


async def summary_of(user: FakeUser) -> SentMessage:
    await user.send("/summary")
    return await user.wait_for(lambda m: "控辍保学汇总" in m.plain)


def names_in(text: str) -> set[str]:
    return {name for name in NAMES if name in text}


async def test_each_leader_gets_a_summary_of_exactly_their_scope(harness: BotHarness) -> None:
    await seed(harness)
    leader = await bind(harness, 801, "13900000002")  # district leader
    wenchang = await bind(harness, 802, "13900000011")  # 文昌镇 township leader
    principal = await bind(harness, 803, "13900000020")  # 滨河小学 principal

    whole = await summary_of(leader)
    assert "控辍保学汇总：沙坡头区" in whole.plain
    assert "在校学生8名；未结案件4件，其中辍学2件。" in whole.plain
    assert names_in(whole.plain) == {"张三", "王五", "钱七", "孙八"}
    assert "滨河镇：3／1" in whole.plain and "文昌镇：1／1" in whole.plain
    assert "辍学且无劝返记录" in whole.plain  # A8.2: 张三, a primary dropout with no persuasion
    assert "未结案件中弱势群体（第九条）学生1名" in whole.plain  # 王五 (A9)
    assert len(whole.text or "") < 4096

    township = await summary_of(wenchang)
    assert "控辍保学汇总：文昌镇" in township.plain
    # its schools' pupils, and children of its households at other schools (钱七)
    assert "未结案件2件，其中辍学1件" in township.plain
    assert names_in(township.plain) == {"钱七", "孙八"}
    assert "A8.1" not in township.plain  # the district's flag is not the township's

    school = await summary_of(principal)
    assert "控辍保学汇总：滨河镇/滨河小学" in school.plain
    assert "在校学生6名；未结案件3件，其中辍学1件。" in school.plain
    assert names_in(school.plain) == {"张三", "王五", "钱七"}
    assert "未结案件" in school.buttons  # a school's summary lists its cases


async def test_the_drill_down_reaches_a_case_card(harness: BotHarness) -> None:
    district = await seed(harness)
    leader = await bind(harness, 811, "13900000002")
    top = await summary_of(leader)
    await leader.press("滨河镇（3）", top)
    township = await leader.wait_for(lambda m: "控辍保学汇总：滨河镇" in m.plain)
    assert township.message_id == top.message_id  # the same message, edited in place
    assert "滨河小学：3／1" in township.plain
    await leader.press("滨河小学（3）", township)
    school = await leader.wait_for(lambda m: "控辍保学汇总：滨河镇/滨河小学" in m.plain)
    await leader.press("未结案件", school)
    listing = await leader.wait_for(lambda m: "滨河小学未结案件" in m.plain)
    assert names_in(listing.plain) == {"张三", "王五", "钱七"}
    button = next(b for b in listing.buttons if "张三" in b)
    assert listing.button_data[button].startswith("case:")
    await leader.press(button, listing)
    card = await leader.wait_for(lambda m: "KC-2024-0001" in m.plain and m is not listing)
    assert "张三" in card.plain
    # back to the school's summary (the same message), then "Up" to the township
    await leader.press("返回汇总", listing)
    school = await leader.wait_for(lambda m: "控辍保学汇总：滨河镇/滨河小学" in m.plain)
    await leader.press("返回上一级", school)
    await leader.wait_for(lambda m: "控辍保学汇总：滨河镇" in m.plain and "各学校" in m.plain)
    del district


async def test_a_forged_press_outside_the_scope_is_refused(harness: BotHarness) -> None:
    district = await seed(harness)
    principal = await bind(harness, 821, "13900000030")  # 文昌中学 principal
    mine = await summary_of(principal)
    assert names_in(mine.plain) == {"孙八"}
    binhe_primary = district.units["binhe_primary"]
    for forged in (
        f"sum:s:{binhe_primary}",
        f"sum:c:{binhe_primary}:0",
        f"sum:t:{district.units['binhe']}",
        f"sum:u:{district.units['district']}:0",
        f"sum:g:{binhe_primary}",
        f"sum:s:{district.units['dept:civil_affairs']}",
        "sum:s:999999",
        "sum:x:1",
    ):
        await principal.press_data(forged, mine)
        answer = await principal.next_callback_answer()
        assert answer.show_alert, forged
        assert "无权" in (answer.text or "") or "失效" in (answer.text or ""), forged
    assert names_in(principal.messages[-1].plain) == {"孙八"}  # nothing was shown instead


async def test_a_group_chat_summary_has_counts_and_no_names(harness: BotHarness) -> None:
    district = await seed(harness)
    leader = await bind(harness, 831, "13900000002")
    group = harness.fake.group(-100_500, "控辍保学工作群")
    await leader.send("/summary", chat=group)
    text = await group.wait_for(lambda m: "控辍保学汇总" in m.plain)
    assert "未结案件4件" in text.plain
    assert names_in(text.plain) == set()
    assert "教育局乙" not in text.plain  # no staff names either
    assert all(not data.startswith("sum:c:") for data in text.button_data.values())
    # drilling down in the group stays at counts
    await leader.press("滨河镇（3）", text, chat=group)
    await leader.next_callback_answer()
    township = await group.wait_for(lambda m: "控辍保学汇总：滨河镇" in m.plain)
    assert names_in(township.plain) == set()
    await leader.press("滨河小学（3）", township, chat=group)
    await leader.next_callback_answer()
    school = await group.wait_for(lambda m: "滨河镇/滨河小学" in m.plain)
    assert names_in(school.plain) == set() and "未结案件" not in school.buttons
    # a forged list of cases in the group is refused
    await leader.press_data(f"sum:c:{district.units['binhe_primary']}:0", school)
    answer = await leader.next_callback_answer()
    assert "私聊" in (answer.text or "")
    # and the ledger is not sent to a group
    await leader.send("/export", chat=group)
    refusal = await group.wait_for(lambda m: "/export" in m.plain)
    assert refusal.document is None


async def test_people_who_lead_nothing_get_no_summary(harness: BotHarness) -> None:
    await seed(harness)
    teacher = await bind(harness, 841, "13900000022")
    await teacher.send("/summary")
    assert "无权" in (await teacher.next_message()).plain


async def test_the_chart_button_sends_a_photo(harness: BotHarness) -> None:
    await seed(harness)
    leader = await bind(harness, 851, "13900000002")
    top = await summary_of(leader)
    await leader.press("图表", top)
    photo = await leader.wait_for(lambda m: m.photo is not None)
    assert photo.photo is not None and photo.photo.startswith(b"\x89PNG")
    assert "未结案件" in photo.plain


async def test_export_sends_the_ledger_and_audits_it(harness: BotHarness) -> None:
    await seed(harness)
    principal = await bind(harness, 861, "13900000020")
    await principal.send("/export")
    document = await principal.wait_for(lambda m: m.document is not None)
    assert document.filename is not None and document.filename.endswith(".xlsx")
    assert document.document is not None
    # the file is encrypted: nothing opens it without the password of the next message
    with pytest.raises(zipfile.BadZipFile):
        openpyxl.load_workbook(io.BytesIO(document.document))
    secret = await principal.wait_for(lambda m: "<code>" in (m.text or ""))
    password = re.search(r"<code>([A-Z0-9]+)</code>", secret.text or "")
    assert password is not None
    with pytest.raises(msoffcrypto.exceptions.InvalidKeyError):
        decrypt(document.document, "WRONG" + password.group(1))
    book = openpyxl.load_workbook(io.BytesIO(decrypt(document.document, password.group(1))))
    assert book.sheetnames[:2] == ["控辍保学台账", "劝返处置记录"]
    # every sheet's printed header names who exported it; the footer says it is confidential
    for sheet in book.worksheets:
        assert "王校长" in (sheet.oddHeader.center.text or "")
        assert "未成年人" in (sheet.oddFooter.left.text or "")
    # the password's message is deleted when its time has come, and only then
    await harness.settle()  # the handler notes the message after sending it
    s = harness.s
    assert await delete_due_messages(harness.app, s) == 0 and not secret.deleted
    harness.clock.advance(timedelta(seconds=s.config.export_password_seconds + 1))
    assert await delete_due_messages(harness.app, s) == 1 and secret.deleted
    rows = list(book["控辍保学台账"].iter_rows(min_row=2, values_only=True))
    dropouts = [row[5] for row in rows if row[21] == "辍学"]
    suspected = [row[5] for row in rows if row[21] == "疑似辍学"]
    assert dropouts == ["张三"] and sorted(suspected) == ["王五", "钱七"]  # not 孙八: other school
    entries = await harness.s.audit.entries(action="export")
    principal_id = harness.s.people and (await harness.s.people.by_phone("13900000020"))
    assert principal_id is not None and len(entries) == 1
    assert entries[0]["actor"] == f"person:{principal_id.id}"
    assert entries[0]["detail"]["scope"] == "滨河镇/滨河小学"
    assert entries[0]["detail"]["via"] == "chat"


async def test_a_long_breakdown_is_paged_in_roster_order_and_folds_empty_rows(
    harness: BotHarness,
) -> None:
    district = await seed(harness)
    for n in range(30):
        township = await harness.s.units.add(
            "township", f"第{n:02d}个很长名字的乡镇", district.units["district"]
        )
        school = await harness.s.units.add(
            "school", f"第{n:02d}个很长名字的乡镇中心小学", township, section="primary"
        )
        async with harness.s.db.transaction():  # one pupil, so that the school counts
            student = await harness.s.db.execute(
                "INSERT INTO students (registry_no, name, school_id, grade, updated_at)"
                " VALUES (?, ?, ?, 1, ?)",
                (f"G{n:018d}", f"学生{n}", school, T0.isoformat()),
            )
            await rollups.recount(harness.s.db, [school])  # plain SQL: the school's counts
        if n < 20:  # twenty townships with a case, ten without
            await harness.s.cases.open_case(
                student_id=student,
                reported_by=None,
                absent_since=date(2024, 3, 1),
                cause="unknown",
                guardian_contact=None,
                note=None,
                now=T0,
                year=2024,
                actor="cli:test",
            )
    leader = await bind(harness, 871, "13900000002")
    top = await summary_of(leader)
    assert len(top.text or "") < 4096
    # the roster's order (滨河镇 and 文昌镇 were created first), not the code points' order
    rows = re.findall(r"^ · (\S+)：\d+／\d+$", top.plain, re.M)
    assert rows[:4] == ["滨河镇", "文昌镇", "第00个很长名字的乡镇", "第01个很长名字的乡镇"]
    # six buttons a message: four townships a page, [更多] and the chart (docs/texts.md)
    assert "第1/6页" in top.plain and "其余10个乡镇暂无案件。" in top.plain
    assert len(top.buttons) == 6 and top.buttons[-2:] == ["更多", "图表"]
    await leader.press("更多", top)
    second = await leader.wait_for(lambda m: "第2/6页" in m.plain)
    assert "第02个很长名字的乡镇：1／0" in second.plain and len(second.buttons) == 6
    assert all(len(data.encode()) < 64 for data in second.button_data.values())


async def test_one_page_says_no_page_and_empty_townships_are_one_line(
    harness: BotHarness,
) -> None:
    district = await seed(harness)
    for n, name in enumerate(("东园镇", "兴仁镇", "宣和镇")):  # after the seed's two
        township = await harness.s.units.add("township", name, district.units["district"])
        school = await harness.s.units.add("school", f"{name}中心小学", township, section="primary")
        async with harness.s.db.transaction():
            await harness.s.db.execute(
                "INSERT INTO students (registry_no, name, school_id, grade, updated_at)"
                " VALUES (?, ?, ?, 1, ?)",
                (f"H{n:018d}", f"学生{n}", school, T0.isoformat()),
            )
            await rollups.recount(harness.s.db, [school])  # plain SQL: the school's counts
    leader = await bind(harness, 872, "13900000002")
    top = await summary_of(leader)
    assert "滨河镇：3／1\n · 文昌镇：1／1\n其余3个乡镇暂无案件。" in top.plain
    assert "0／0" not in top.plain and "页" not in top.plain
    assert top.buttons[:2] == ["滨河镇（3）", "文昌镇（1）"]


async def test_a_township_sees_only_its_childrens_cases_at_a_school_outside_it(
    harness: BotHarness,
) -> None:
    await seed(harness)
    wenchang = await bind(harness, 881, "13900000011")  # 文昌镇; 钱七 studies at 滨河小学
    top = await summary_of(wenchang)
    assert "滨河小学：1／0" in top.plain
    await wenchang.press("滨河小学（1）", top)
    school = await wenchang.wait_for(lambda m: "控辍保学汇总：滨河镇/滨河小学" in m.plain)
    assert "未结案件1件" in school.plain and names_in(school.plain) == {"钱七"}
    await wenchang.press("未结案件", school)
    listing = await wenchang.wait_for(lambda m: "滨河小学未结案件" in m.plain)
    assert names_in(listing.plain) == {"钱七"}


async def test_after_the_sweep_job_the_leaders_read_each_schools_kept_part(
    harness: BotHarness,
) -> None:
    """The repeating sweep job leaves every school's share of a summary kept: each leader's
    summary is the same as computed afresh, reads the kept parts, and shows a return at once."""
    district = await seed(harness)
    leader = await bind(harness, 891, "13900000002")
    wenchang = await bind(harness, 892, "13900000011")
    job = sweep_job_of(sweep_now)
    await job(SimpleNamespace(application=harness.app))
    kept = dict(harness.s.kept.parts)
    assert set(kept) == {district.units["binhe_primary"], district.units["wenchang_middle"]}
    whole = await summary_of(leader)
    assert "在校学生8名；未结案件4件，其中辍学2件。" in whole.plain
    township = await summary_of(wenchang)
    assert "未结案件2件，其中辍学1件" in township.plain
    assert names_in(township.plain) == {"钱七", "孙八"}  # 钱七 at a school outside it
    assert all(harness.s.kept.parts[k] is part for k, part in kept.items())  # read, not made

    case = await harness.s.db.fetchval(
        "SELECT id FROM cases WHERE student_id = ?", (district.students["王五"],)
    )
    await harness.s.cases.close(case, status="returned", now=harness.clock.now(), actor="cli:t")
    after = await summary_of(leader)
    assert "未结案件3件，其中辍学2件。" in after.plain and "王五" not in after.plain
    assert (
        harness.s.kept.parts[district.units["wenchang_middle"]]
        is kept[district.units["wenchang_middle"]]
    )  # the other school's part is still the one kept
