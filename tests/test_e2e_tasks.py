"""End to end: reminders that know what people did, with a lead time and a working week.

Each test lives a week (or the whole ladder) through the real bot and the fake Bot API, the
clock moved by the test and the sweep run at each step: a Friday report whose re-reminder
and escalation land on Monday; a home visit that met the guardians ending the A7.1
reminders; a department's [接收] stopping the "not done" escalations; no printed 期限
earlier than its message; 300 open cases without a flood; the district leader never asked
to 督办 one item.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.ladder.state import ActionKind
from kcbx.bot.domain.model import Case
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.referrals import accept_data
from kcbx.testing.fakebot import FakeBotApi
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district

SH = ZoneInfo("Asia/Shanghai")

TEACHER = (22, "13900000022")  # 李老师, class 3-1 of 滨河小学 (张三)
PRINCIPAL = (20, "13900000020")
LEAD = (21, "13900000021")  # 控辍专干
BUREAU = (3, "13900000003")
BUREAU_LEADER = (5, "13900000005")
DISTRICT = (2, "13900000002")  # 区长甲
ADMIN = (1, "13900000001")
TOWNSHIP = (10, "13900000010")
TOWNSHIP_CADRE = (12, "13900000012")
VILLAGE_CADRE = (13, "13900000013")
GROUP_CADRE = (14, "13900000014")
POLICE = (41, "13900000041")
CIVIL = (40, "13900000040")
EVERYONE = (
    TEACHER,
    PRINCIPAL,
    LEAD,
    BUREAU,
    BUREAU_LEADER,
    DISTRICT,
    ADMIN,
    TOWNSHIP,
    TOWNSHIP_CADRE,
    VILLAGE_CADRE,
    GROUP_CADRE,
    POLICE,
    CIVIL,
)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=SH)


@dataclass(frozen=True)
class Received:
    when: datetime  # local
    user: int
    plain: str


class Inbox:
    """What each bound user received, stamped with the clock of the sweep that sent it."""

    def __init__(self, harness: BotHarness, users: Iterable[tuple[int, str]]) -> None:
        self.harness = harness
        self.users = {uid: harness.fake.user(uid) for uid, _ in users}
        self.seen = dict.fromkeys(self.users, 0)
        self.items: list[Received] = []

    def collect(self) -> None:
        now = self.harness.clock.now().astimezone(SH)
        for uid, user in self.users.items():
            for message in user.messages[self.seen[uid] :]:
                self.items.append(Received(now, uid, message.plain))
            self.seen[uid] = len(user.messages)

    def of(self, who: tuple[int, str]) -> list[Received]:
        return [r for r in self.items if r.user == who[0]]


async def bind(harness: BotHarness, *people: tuple[int, str]) -> None:
    for uid, phone in people:
        await harness.bind_quietly(uid, phone=phone)


async def open_case(
    services: Services, student: int, when: datetime, cause: str = "missing"
) -> Case:
    return await services.cases.open_case(
        student_id=student,
        reported_by=None,
        absent_since=when.astimezone(SH).date(),
        cause=cause,
        guardian_contact=None,
        note=None,
        now=when,
        year=2024,
        actor="cli:test",
    )


async def live(harness: BotHarness, inbox: Inbox, start: datetime, end: datetime) -> None:
    """Sweep every 30 minutes from ``start`` to ``end``, collecting what arrives."""
    moment = start
    while moment <= end:
        await harness.set_time(moment)
        inbox.collect()
        moment += timedelta(minutes=30)


_WHEN = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日（周.）\s*(\d{2}):(\d{2})")


def printed(text: str, label: str) -> list[datetime]:
    """The instants printed after ``label`` (期限： or 期限已过：) in a message."""
    found = []
    for line in text.splitlines():
        if label in line:
            match = _WHEN.search(line.split(label, 1)[1])
            if match:
                y, mo, d, h, mi = (int(g) if g else 2024 for g in match.groups())  # 2024: no year
                found.append(datetime(y, mo, d, h, mi, tzinfo=SH))
    return found


async def test_a_friday_report_is_re_reminded_and_escalated_on_monday(
    harness: BotHarness,
) -> None:
    """Reported Friday 15:00: told before the deadline (Friday), nothing at the weekend,
    the re-reminder and the escalation (to the school lead: teacher -> school lead) on
    Monday in working hours."""
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, TEACHER, LEAD, PRINCIPAL, BUREAU, DISTRICT)
    inbox = Inbox(harness, (TEACHER, LEAD, PRINCIPAL, BUREAU, DISTRICT))
    await open_case(s, d.students["张三"], at(3, 8, 15))
    await live(harness, inbox, at(3, 8, 15), at(3, 11, 20))

    assert [r for r in inbox.items if r.when.weekday() >= 5] == []  # nothing Sat, Sun
    calls = [r for r in inbox.of(TEACHER) if "电话" in r.plain]
    assert [r.when for r in calls][:2] == [at(3, 8, 18), at(3, 11, 13)]
    assert printed(calls[0].plain, "期限：") == [at(3, 11, 9)]  # the first notice is early
    assert printed(calls[1].plain, "期限已过：") == [at(3, 11, 9)]
    escalated = [r for r in inbox.of(LEAD) if "报请督办" in r.plain]
    assert [r.when for r in escalated] == [at(3, 11, 17)]
    assert "李老师" in escalated[0].plain
    assert inbox.of(DISTRICT) == []


async def test_a_visit_that_met_the_guardians_ends_the_call_and_visit_reminders(
    harness: BotHarness,
) -> None:
    """The teacher saves a home visit at 10:00 where she met the guardians: no reminder
    about the call or the visit follows (A7.1)."""
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, TEACHER, LEAD, PRINCIPAL)
    inbox = Inbox(harness, (TEACHER, LEAD, PRINCIPAL))
    case = await open_case(s, d.students["张三"], at(3, 4, 9))
    teacher = await s.people.by_phone(TEACHER[1])
    assert teacher is not None
    await harness.set_time(at(3, 4, 9, 30))
    detail = {"met": "guardians", "outcome": "agreed", "actor_role": "class_teacher"}
    await s.cases.record_action(
        case.id,
        kind=ActionKind.HOME_VISIT,
        actor_id=teacher.id,
        at=at(3, 4, 10),
        now=at(3, 4, 10),
        detail=detail,
    )
    await live(harness, inbox, at(3, 4, 10), at(3, 6, 20))
    assert inbox.items == []


async def test_accepting_a_referral_stops_the_not_done_escalations(harness: BotHarness) -> None:
    """Day 7 brings the police a referral (A6, missing child); its liaison taps [接收]:
    no "reminder 2" and no 督办 about it follow while its action time runs."""
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, *EVERYONE)
    inbox = Inbox(harness, EVERYONE)
    case = await open_case(s, d.students["张三"], at(3, 4, 9))
    await live(harness, inbox, at(3, 4, 9), at(3, 11, 8))
    police = harness.fake.user(POLICE[0])
    referral = next(iter(await s.referrals.of_case(case.id)))
    message = next(m for m in police.messages if accept_data(referral.id) in m.button_data.values())
    await police.press_data(accept_data(referral.id), message)
    await police.wait_for(lambda m: "接收" in m.plain or "已接收" in m.plain, timeout=5)
    await live(harness, inbox, at(3, 11, 10), at(3, 18, 17))
    after = [r for r in inbox.items if r.when >= at(3, 11, 10)]
    about = [r for r in after if "公安" in r.plain or "A6" in r.plain]
    assert not [r for r in about if "第2次提醒" in r.plain or "报请督办" in r.plain], about


async def test_a_whole_ladder_no_past_due_date_no_rest_day_no_district_leader(
    harness: BotHarness,
) -> None:
    """Nobody acts for 33 days: every 期限 a message prints is at or after its send time,
    期限已过 only after it; nothing goes on a weekend; the chain tops out at the bureau's
    leader in charge; the district leader gets no per-item message."""
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, *EVERYONE)
    inbox = Inbox(harness, EVERYONE)
    await open_case(s, d.students["张三"], at(3, 4, 9))
    moment = at(3, 4, 9)
    while moment <= at(4, 5, 20):
        if moment.astimezone(SH).hour in range(8, 21):
            await harness.set_time(moment)
            inbox.collect()
        moment += timedelta(hours=1)

    assert inbox.items
    for r in inbox.items:
        for due in printed(r.plain, "期限："):
            assert due >= r.when, (r.when, r.plain)
        for due in printed(r.plain, "期限已过："):
            assert due < r.when, (r.when, r.plain)
        assert r.when.weekday() < 5, (r.when, r.plain)
    assert inbox.of(DISTRICT) == []
    assert any("报请督办" in r.plain for r in inbox.of(BUREAU_LEADER))


async def _many_cases(services: Services, d: District, n: int) -> None:
    """``n`` students in classes of five, every teacher bound; all reported on Monday."""
    now = to_iso(T0)
    school = d.units["binhe_primary"]
    students = []
    async with services.db.transaction():
        for i in range(n // 5):
            teacher = await services.db.execute(
                "INSERT INTO people (name, phone, role, unit_id, telegram_id, chat_id, lang,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, 'zh_CN', ?)",
                (
                    f"老师{i}",
                    f"1580000{i:04d}",
                    Role.CLASS_TEACHER,
                    school,
                    5000 + i,
                    5000 + i,
                    now,
                ),
            )
            klass = await services.db.execute(
                "INSERT INTO classes (school_id, grade, name, teacher_id) VALUES (?, ?, ?, ?)",
                (school, 1 + i % 6, f"{i + 10}班", teacher),
            )
            for j in range(5):
                k = i * 5 + j
                students.append(
                    await services.db.execute(
                        "INSERT INTO students (registry_no, name, school_id, class_id, grade,"
                        " household_unit_id, a9_flags, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            f"M{k:06d}",
                            f"学生{k}",
                            school,
                            klass,
                            1 + i % 6,
                            d.units["xindun/1"],
                            "orphan" if k % 10 == 0 else "",
                            now,
                        ),
                    )
                )
    causes = ["missing", "poverty", "child_labour", "weariness", "unknown", "early_marriage"]
    for k, student in enumerate(students):
        await open_case(services, student, at(3, 4, 9) + timedelta(minutes=k), causes[k % 6])


@pytest.fixture
async def fast(tmp_path: Path) -> AsyncIterator[BotHarness]:
    """A fake whose rate limits do not slow a 33-day story lived in seconds (the test counts
    messages per person per sweep and per day, far below Telegram's per-chat limit)."""
    fake = FakeBotApi(
        token="123456:TEST-token_kcbx",
        bot_username="kcbx_bot",
        overall_per_second=1000,
        private_per_second=1000,
        private_burst=1000,
    )
    async with BotHarness(tmp_path / "kcbx.db", T0, fake=fake, overall_max_rate=250) as h:
        yield h


async def test_300_open_cases_over_33_days_flood_nobody(fast: BotHarness) -> None:
    """Nobody acts on 300 cases for 33 days: nobody gets more than 3 messages in one sweep
    or 8 in one day; the district leader gets nothing per item."""
    harness, s = fast, fast.s
    d = await small_district(s, T0)
    await bind(harness, *EVERYONE)
    await _many_cases(s, d, 300)
    users: dict[int, Any] = {uid: harness.fake.user(uid) for uid, _ in EVERYONE}
    users |= {5000 + i: harness.fake.user(5000 + i, started=True) for i in range(60)}
    seen = dict.fromkeys(users, 0)
    per_day: dict[tuple[int, str], int] = {}
    worst_sweep = 0
    moment = at(3, 4, 9)
    while moment <= at(4, 6, 9):
        if moment.hour in (8, 14):  # two sweeps a day: bigger batches, the same limits
            harness.clock.set(moment)
            await harness.sweep()
            for uid, user in users.items():
                new = len(user.messages) - seen[uid]
                seen[uid] = len(user.messages)
                worst_sweep = max(worst_sweep, new)
                key = (uid, moment.date().isoformat())
                per_day[key] = per_day.get(key, 0) + new
        moment += timedelta(hours=1)
    assert worst_sweep <= 3
    assert max(per_day.values()) <= 8, max(per_day.items(), key=lambda kv: kv[1])
    assert users[DISTRICT[0]].messages == []
    assert seen[BUREAU[0]] > 0 and seen[LEAD[0]] > 0
    # departments nobody can be told in: one line each for the bureau's clerk, and the
    # administrator hears which departments need a liaison
    bureau_texts = [m.plain for m in users[BUREAU[0]].messages]
    assert any("区乡村振兴局暂无联络员" in text and "件待转介" in text for text in bureau_texts)
    admin_texts = [m.plain for m in users[ADMIN[0]].messages]
    assert any("暂无可联系的联络员" in text and "区乡村振兴局" in text for text in admin_texts)
    print(f"300 cases, 33 days: {sum(seen.values())} messages, at most {worst_sweep} a sweep")


async def test_remind_me_later_holds_the_next_reminder_and_is_limited(
    harness: BotHarness,
) -> None:
    """[稍后提醒]: "the next working morning" holds the call's second reminder from Monday
    17:00 to Tuesday 08:00; each press is a recorded ``snoozed`` action; after two
    (``snooze_limit``) the reminders offer it no more and a forged third press records
    nothing."""
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, TEACHER, LEAD, PRINCIPAL)
    inbox = Inbox(harness, (TEACHER, LEAD, PRINCIPAL))
    case = await open_case(s, d.students["张三"], at(3, 4, 9))
    await live(harness, inbox, at(3, 4, 9), at(3, 4, 12))
    teacher = harness.fake.user(TEACHER[0])
    notice = next(m for m in teacher.messages if "电话" in m.plain)
    assert {"2小时后再提醒", "下一个工作日上午再提醒"} <= set(notice.buttons)
    await teacher.press("下一个工作日上午再提醒", notice)
    await teacher.wait_for(lambda m: m is notice and "下一个工作日上午再提醒" not in m.buttons)
    [held] = [a for a in await s.cases.actions(case.id) if a.kind == ActionKind.SNOOZED]
    assert held.detail == {"task": "A7.1-call", "until": to_iso(at(3, 5, 8))}

    await live(harness, inbox, at(3, 4, 12, 30), at(3, 5, 9))
    calls = [r for r in inbox.of(TEACHER) if "电话" in r.plain and r.when > at(3, 4, 12)]
    assert [r.when for r in calls] == [at(3, 5, 8)]  # not Monday 17:00
    assert "第2次提醒" in calls[0].plain
    second = next(m for m in reversed(teacher.messages) if "第2次提醒" in m.plain)
    await teacher.press("2小时后再提醒", second)
    await teacher.wait_for(lambda m: m is second and "2小时后再提醒" not in m.buttons)
    await harness.settle()
    await teacher.press_data(f"snz:{case.id}:A7.1-call:l", second)  # a third: refused
    await harness.settle()
    snoozes = [a for a in await s.cases.actions(case.id) if a.kind == ActionKind.SNOOZED]
    assert len(snoozes) == 2
    before = len(teacher.messages)
    await live(harness, inbox, at(3, 5, 9, 30), at(3, 5, 17))
    later = [m for m in teacher.messages[before:] if "电话" in m.plain]
    assert later and not [m for m in later if "2小时后再提醒" in m.buttons]  # limit reached
    escalated = [r for r in inbox.of(LEAD) if "报请督办" in r.plain]
    assert escalated and escalated[0].when >= at(3, 5, 12)  # after the snooze, in hours


async def test_a_liaisons_undone_referral_goes_to_their_departments_leader(
    harness: BotHarness,
) -> None:
    """The top of a department's chain is its own leader: the police's referral (A6,
    missing child) left unaccepted is escalated to the police's leader, not the bureau, and
    never to the district leader."""
    s = harness.s
    d = await small_district(s, T0)
    await s.db.execute(
        "INSERT INTO people (name, phone, role, unit_id, created_at) VALUES (?, ?, ?, ?, ?)",
        ("公安分局领导", "13900000049", Role.DEPARTMENT_LEADER, d.units["dept:public_security"],
         to_iso(T0)),
    )  # fmt: skip
    leader = (49, "13900000049")
    await bind(harness, TEACHER, LEAD, PRINCIPAL, BUREAU, BUREAU_LEADER, DISTRICT, POLICE, leader)
    inbox = Inbox(harness, (BUREAU, BUREAU_LEADER, DISTRICT, POLICE, leader))
    await open_case(s, d.students["张三"], at(3, 4, 9))
    await live(harness, inbox, at(3, 11, 7), at(3, 14, 20))
    about = [r for r in inbox.of(leader) if "报请督办" in r.plain]
    assert about and "公安联络员" in about[0].plain and about[0].when.weekday() < 5
    police = [r for r in inbox.items if "公安联络员" in r.plain and "报请督办" in r.plain]
    assert {r.user for r in police} == {leader[0]}  # not the bureau, not its leader
    assert inbox.of(DISTRICT) == []
