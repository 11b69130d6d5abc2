"""End to end (issue 3): the sweep walks the ladder through the real bot and the fake Bot API.

One case from day 0 to its return (A7.1-A7.6, A6, A5.1), a bot restarted in the middle of a
sweep, a flood of 500 reminders, and a recipient who blocked the bot. Time is the harness's
controlled clock; the sweep runs when the test says so (no sleeps, no timers). Cases are
opened and actions recorded through the repository, as the reporting and notice features do.
"""

from __future__ import annotations

import time as timer
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.caseactions import return_data
from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.ladder.state import ActionKind
from kcbx.bot.domain.model import Case
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.services import Services
from kcbx.testing.fakebot import FakeBotApi
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district

SH = ZoneInfo("Asia/Shanghai")

# (user id, phone) of the people of the small district who take part
TEACHER = (22, "13900000022")  # 李老师, class 3-1 of 滨河小学 (张三)
PRINCIPAL = (20, "13900000020")  # 王校长
LEAD = (21, "13900000021")  # 控辍专干, the school's dropout-control lead
BUREAU = (3, "13900000003")  # 教育局乙
DISTRICT = (2, "13900000002")  # 区长甲
TOWNSHIP = (10, "13900000010")  # 滨河镇长
TOWNSHIP_CADRE = (12, "13900000012")  # 包村干部 (新墩村)
VILLAGE_CADRE = (13, "13900000013")  # 包组干部 (新墩村一组)
GROUP_CADRE = (14, "13900000014")  # 包户干部 (新墩村一组)
POLICE = (41, "13900000041")  # 公安联络员 (A6: missing children)
EVERYONE = (
    TEACHER,
    PRINCIPAL,
    LEAD,
    BUREAU,
    DISTRICT,
    TOWNSHIP,
    TOWNSHIP_CADRE,
    VILLAGE_CADRE,
    GROUP_CADRE,
    POLICE,
)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of 2024 in Asia/Shanghai."""
    return datetime(2024, month, day, hour, minute, tzinfo=SH)


@dataclass(frozen=True)
class Received:
    """A message as it arrived: when (the clock), to whom, its text and its task buttons."""

    when: datetime
    user: int
    plain: str
    # the task codes of its "Received" buttons (ack:{case}:{code}), or in a digest, where each
    # task has one button, of its action (do:{case}:{code})
    acks: frozenset[str]

    @property
    def local(self) -> datetime:
        return self.when.astimezone(SH)


class Log:
    """Everything each user received, stamped with the clock time of the sweep that sent it
    (a message is copied on arrival: the buttons' handlers edit it later)."""

    def __init__(self, harness: BotHarness, users: Any) -> None:
        self.harness = harness
        self.users = {uid: harness.fake.user(uid) for uid, _ in users}
        self.seen = {uid: 0 for uid in self.users}
        self.items: list[Received] = []

    def collect(self) -> list[Received]:
        new: list[Received] = []
        for uid, user in self.users.items():
            for message in user.messages[self.seen[uid] :]:
                acks = frozenset(
                    data.split(":", 2)[2]
                    for data in message.button_data.values()
                    if data.startswith(("ack:", "do:"))
                )
                new.append(Received(self.harness.clock.now(), uid, message.plain, acks))
            self.seen[uid] = len(user.messages)
        self.items += new
        return new

    def of(self, user: tuple[int, str]) -> list[Received]:
        return [r for r in self.items if r.user == user[0]]

    def schedule(self, user: tuple[int, str]) -> list[tuple[datetime, frozenset[str]]]:
        """When each reminder came (files that go with one, e.g. a notice's PDF, left out)."""
        return [(r.local, r.acks) for r in self.of(user) if r.acks]


async def bind(harness: BotHarness, *people: tuple[int, str]) -> None:
    for uid, phone in people:
        await harness.bind_quietly(uid, phone=phone)


async def person_id(harness: BotHarness, who: tuple[int, str]) -> int:
    person = await harness.s.people.by_phone(who[1])
    assert person is not None
    return person.id


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


def codes(*names: str) -> frozenset[str]:
    return frozenset(names)


async def test_one_case_walks_the_whole_ladder(harness: BotHarness) -> None:
    """Day 0 (A7.1), 3 (A7.2), 7 (A7.3, A6, A5.1), 15 (A7.4), the notice's deadline (A7.5),
    the return (A7.6): who received what and when; never at night; a re-reminder, then the
    escalation; nobody anything twice."""
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, *EVERYONE)
    harness.clock.set(at(3, 4, 9))  # Monday: the teacher reports 张三, absent since today
    case = await open_case(s, d.students["张三"], harness.clock.now())
    log = Log(harness, EVERYONE)
    ids = {who: await person_id(harness, who) for who in EVERYONE}

    def record(kind: str, who: tuple[int, str], **detail: Any) -> Callable[[], Any]:
        async def act() -> None:
            now = harness.clock.now()
            await s.cases.record_action(
                case.id, kind=kind, actor_id=ids[who], at=now, now=now, detail=detail
            )

        return act

    async def come_back() -> None:
        """A7.6 through the reminder's "Back at school" button, and its confirmation."""
        teacher = harness.fake.user(TEACHER[0])
        reminder = next(
            m for m in reversed(teacher.messages) if return_data(case.id) in str(m.button_data)
        )
        await teacher.press_data(return_data(case.id), reminder)
        await teacher.wait_for(lambda m: return_data(case.id, "y") in m.button_data.values())
        ask = teacher.messages[-1]
        await teacher.press_data(return_data(case.id, "y"), ask)
        await teacher.wait_for(lambda m: m is ask and not m.buttons)

    # What people do, and when (nothing else is recorded: what is not done is reminded).
    script: dict[datetime, Callable[[], Any]] = {
        at(3, 4, 14): record(ActionKind.PHONE_CALL, TEACHER),
        # "Received" pressed late in the evening: the re-reminder would fall at 21:30 (quiet)
        at(3, 6, 21, 30): record(ActionKind.ACKNOWLEDGED, TEACHER, task="A7.1-visit"),
        at(3, 7, 10): record(ActionKind.PERSUASION, LEAD),
        at(3, 9, 10): record(ActionKind.HOME_VISIT, TEACHER),
        at(3, 11, 10): record(ActionKind.REGISTRY_MARK, LEAD),
        at(3, 11, 10, 5): record(ActionKind.REPORTED_UP, LEAD),
        at(3, 11, 11): record(ActionKind.JOINT_PERSUASION, BUREAU),
        at(3, 11, 14): record(ActionKind.DEPARTMENT_ACTION, POLICE, department="public_security"),
        at(3, 12, 9): record(ActionKind.HOME_VISIT, GROUP_CADRE),
        at(3, 19, 10): record(ActionKind.NOTICE_ISSUED, BUREAU, number="沙教控辍〔2024〕第001号"),
        at(3, 20, 15): record(
            ActionKind.NOTICE_DELIVERED, TOWNSHIP_CADRE, delivered_on="2024-03-20"
        ),
        at(3, 28, 10): record(ActionKind.CORRECTION_ORDERED, BUREAU, deadline="2024-04-04"),
        at(3, 29, 9, 30): come_back,
    }
    moments = sorted({at(3, 4, 9) + timedelta(hours=h) for h in range(24 * 33)} | set(script))
    for moment in moments:
        harness.clock.set(moment)
        if moment in script:
            await script[moment]()
        await harness.sweep()
        log.collect()

    # the class teacher: the call told an hour ahead; the home visit told the working day
    # before, reminded 4 working hours after "Received" (21:30 counts from the next
    # morning), then told that it went to the school lead (teacher -> school lead)
    assert log.schedule(TEACHER)[:4] == [
        (at(3, 4, 12), codes("A7.1-call")),  # due 13:00 (4 working hours after the report)
        (at(3, 5, 16), codes("A7.1-visit")),  # due Wed 18:00: the working day before, 16:00
        (at(3, 7, 12), codes("A7.1-visit")),  # "Received" at 21:30, then 4 working hours
        (at(3, 7, 16), codes("A7.1-visit")),  # the escalation note
    ]
    assert "已报" in log.of(TEACHER)[3].plain and "控辍专干" in log.of(TEACHER)[3].plain
    assert ("A7.1-visit" in str(log.schedule(LEAD))) and log.of(PRINCIPAL) == []
    escalated = next(r for r in log.of(LEAD) if "报请督办" in r.plain)
    assert "李老师" in escalated.plain and escalated.local == at(3, 7, 16)
    # day 3 (A7.2) and day 7 (A7.3): the school; two tasks at 08:00 come as one digest
    assert log.schedule(LEAD)[0] == (at(3, 7, 8), codes("A7.2"))
    assert log.schedule(LEAD)[2] == (at(3, 11, 8), codes("A7.3-mark", "A7.3-report"))
    assert "您有2项待办事项" in log.of(LEAD)[2].plain
    # day 7: the bureau and the township (A7.3), the department owning the cause (A6) and
    # the household's 三包 chain (A5.1); day 15 (A7.4) to the bureau only (it issues); the
    # notice's deadline (27 March) has passed the next working morning (A7.5)
    assert log.schedule(BUREAU)[:3] == [
        (at(3, 11, 8), codes("A7.3-joint")),
        (at(3, 19, 8), codes("A7.4-notice")),
        (at(3, 28, 8), codes("A7.5")),
    ]
    assert log.schedule(TOWNSHIP)[:2] == [
        (at(3, 11, 8), codes("A7.3-joint")),
        (at(3, 28, 8), codes("A7.5")),
    ]  # cc: told once each; the notice is not the township leader's to issue
    assert "知悉" in log.of(TOWNSHIP)[0].plain
    assert log.schedule(TOWNSHIP_CADRE)[1] == (at(3, 19, 10), codes("A7.4-deliver"))
    assert log.schedule(POLICE)[:1] == [(at(3, 11, 8), codes("A6-public_security"))]
    for cadre in (GROUP_CADRE, VILLAGE_CADRE, TOWNSHIP_CADRE):
        assert log.schedule(cadre)[:1] == [(at(3, 11, 8), codes("A5-visit"))]
    assert log.of(DISTRICT) == []  # never a per-item message to the district leader

    # after the return only the news of it, sent at once to those who were reminded, and
    # the class teacher's check-in a week later (A4.2)
    reminders = [r for r in log.items if r.acks - {"A4.2-7"}]
    assert max(r.local for r in reminders) == at(3, 28, 8)
    after = [r for r in log.items if r.local >= at(3, 29, 9, 30)]
    assert after and not any(r.acks - {"A4.2-7"} for r in after)
    assert [(r.user, r.local) for r in after if r.acks] == [(TEACHER[0], at(4, 3, 16))]
    told = {r.user for r in after if "张三已返校" in r.plain}
    assert told == {uid for uid, _ in EVERYONE} - {TEACHER[0], DISTRICT[0], PRINCIPAL[0]}
    closed = await s.cases.get(case.id)
    assert closed is not None and closed.status == "returned"

    # never between 20:00 and 08:00; nobody received anything twice
    assert all(8 <= r.local.hour < 20 for r in log.items), [
        (r.local, r.user) for r in log.items if not 8 <= r.local.hour < 20
    ]
    for uid in log.users:
        texts = [r.plain for r in log.items if r.user == uid]
        assert len(texts) == len(set(texts)), uid
    assert (await s.outbox.counts()).keys() <= {"sent", "cancelled"}


async def test_a_blocked_recipient_s_task_goes_to_the_supervisor(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, TEACHER, PRINCIPAL)
    teacher, principal = harness.fake.user(TEACHER[0]), harness.fake.user(PRINCIPAL[0])
    case = await open_case(s, d.students["张三"], T0)  # Monday 09:00
    teacher.block()

    # 13:00: the call reminder bounces (403); the principal has the task in the same drain
    await harness.set_time(at(3, 4, 13))
    handed = await principal.wait_for(lambda m: "转办" in m.plain)
    assert "李老师" in handed.plain and "无法通过本机器人联系" in handed.plain
    assert f"ack:{case.id}:A7.1-call" in handed.button_data.values()
    assert teacher.messages == []
    blocked = await s.people.by_phone(TEACHER[1])
    assert blocked is not None and blocked.unreachable_at is not None
    assert await s.audit.entries(action="escalate:unreachable")

    # the next task of the teacher goes straight to the principal, with no try at the teacher
    before = len(harness.fake.calls("sendMessage"))
    await harness.set_time(at(3, 6, 18))
    visit = await principal.wait_for(lambda m: f"ack:{case.id}:A7.1-visit" in str(m.button_data))
    assert "李老师" in visit.plain
    assert len(harness.fake.calls("sendMessage")) == before + 1
    # the call's plan ended with the hand-over: no re-reminder, no escalation later
    for day in (7, 8, 9, 10):
        await harness.set_time(at(3, day, 13))
    about = [
        data.split(":")[2]
        for m in principal.messages
        for data in m.button_data.values()
        if data.startswith("ack:") and ":A7.1" in data
    ]
    assert about == ["A7.1-call", "A7.1-visit"]
    assert teacher.messages == []


async def _teachers(services: Services, d: District, n: int, first_user: int) -> list[int]:
    """``n`` classes of 滨河小学 with a bound teacher and one student each; the students."""
    now = to_iso(T0)
    school = d.units["binhe_primary"]
    students = []
    async with services.db.transaction():
        for i in range(n):
            teacher = await services.db.execute(
                "INSERT INTO people (name, phone, role, unit_id, telegram_id, chat_id, lang,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, 'zh_CN', ?)",
                (
                    f"老师{i}",
                    f"1580000{i:04d}",
                    Role.CLASS_TEACHER,
                    school,
                    first_user + i,
                    first_user + i,
                    now,
                ),
            )
            klass = await services.db.execute(
                "INSERT INTO classes (school_id, grade, name, teacher_id) VALUES (?, ?, ?, ?)",
                (school, 4 + i % 2, f"{i}班", teacher),
            )
            students.append(
                await services.db.execute(
                    "INSERT INTO students (registry_no, name, school_id, class_id, grade,"
                    " household_unit_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (f"F{i:06d}", f"学生{i}", school, klass, 4 + i % 2, d.units["xindun/1"], now),
                )
            )
    return students


async def test_a_restart_in_the_middle_of_a_sweep_loses_and_doubles_nothing(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = harness.s
    d = await small_district(s, T0)
    students = await _teachers(s, d, 12, 3000)
    for student in students:
        await open_case(s, student, T0)
    users = [harness.fake.user(3000 + i, started=True) for i in range(12)]
    harness.clock.set(at(3, 4, 13))  # the twelve calls are due

    # 1. the process dies while the sweep writes (after its outbox rows, before the record
    # of who was told): the transaction is rolled back, nothing is kept
    save, calls = s.reminder_history.save_sweep, []

    async def dying(**kwargs: Any) -> None:
        calls.append(kwargs)
        if len(calls) == 2:
            assert (await s.outbox.counts()).get("pending") == 12  # written, not committed
            raise RuntimeError("killed")
        await save(**kwargs)

    monkeypatch.setattr(s.reminder_history, "save_sweep", dying)
    with pytest.raises(RuntimeError):
        await harness.sweep()
    assert await s.outbox.counts() == {}
    assert await s.reminder_history.of_cases(range(1, 13)) == {}

    # 2. restarted, it sweeps again; delivery is cut half-way: 5xx for some, one row is left
    # 'sending' as if the process died between marking it and calling Telegram
    await harness.restart()
    s = harness.s
    await harness.sweep(deliver=False)
    assert await s.outbox.counts() == {"pending": 12}
    [in_flight] = await s.outbox.due(harness.clock.now(), limit=1)
    await s.outbox.mark_sending(in_flight.id)
    harness.fake.fail_next("sendMessage", code=500, times=4)
    first = await harness.deliver()
    assert first.sent == 8 and first.retried == 4
    await harness.restart()

    # 3. after the restart: the same sweep queues nothing new; the rest arrives, once each
    harness.clock.advance(timedelta(minutes=1))
    again = await harness.sweep()
    assert again.queued == 0
    harness.clock.advance(timedelta(minutes=5))
    await harness.deliver()
    assert await harness.s.outbox.counts() == {"sent": 12}
    for user in users:
        assert len(user.messages) == 1 and "依据：第七条" in user.messages[0].plain
    # and nothing more for these rounds, ever
    harness.clock.advance(timedelta(hours=1))
    assert (await harness.sweep()).queued == 0


@pytest.fixture
async def fast(tmp_path: Path) -> AsyncIterator[BotHarness]:
    """A bot with a higher overall rate, on a fake with matching limits (flood control on)."""
    fake = FakeBotApi(
        token="123456:TEST-token_kcbx", bot_username="kcbx_bot", overall_per_second=300
    )
    async with BotHarness(tmp_path / "kcbx.db", T0, fake=fake, overall_max_rate=250) as h:
        yield h


async def test_500_reminders_at_once(fast: BotHarness) -> None:
    harness, s = fast, fast.s
    d = await small_district(s, T0)
    students = await _teachers(s, d, 500, 5000)
    for student in students:
        await open_case(s, student, T0)
    users = [harness.fake.user(5000 + i, started=True) for i in range(500)]
    harness.clock.set(at(3, 4, 13))
    harness.fake.fail_next("sendMessage", code=429, retry_after=1, times=3)

    started = timer.perf_counter()
    report = await harness.sweep(deliver=False)
    swept = timer.perf_counter() - started
    assert report.queued == 500 and report.reminders == 500
    for _ in range(5):  # a 429 the rate limiter gave up on is retried after retry_after
        await harness.deliver()
        if (await s.outbox.counts()).get("pending", 0) == 0:
            break
        harness.clock.advance(timedelta(seconds=5))
    elapsed = timer.perf_counter() - started

    assert await s.outbox.counts() == {"sent": 500}
    assert harness.fake.stats.too_many_requests >= 3  # served, and handled
    assert [len(u.messages) for u in users] == [1] * 500
    assert len(harness.fake.calls("sendMessage")) - harness.fake.stats.errors[429] == 500
    assert (await harness.sweep()).queued == 0  # nothing doubled by a second sweep
    print(f"500 reminders: sweep {swept:.2f} s, sweep and delivery {elapsed:.2f} s")
    assert elapsed < 60


async def test_the_morning_digest_is_one_message_and_exactly_once(harness: BotHarness) -> None:
    """Four calls reported at 17:00 count their working hours on into the next morning: told
    at 10:00 (due 11:00) as one message per person, exactly once."""
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, TEACHER)
    teacher = harness.fake.user(TEACHER[0])
    for name in ("张三", "李四", "王五", "<小明>"):
        await open_case(s, d.students[name], at(3, 4, 17))  # due 11:00 tomorrow
    for moment in (at(3, 4, 20), at(3, 4, 21), at(3, 4, 23), at(3, 5, 8), at(3, 5, 9, 59)):
        await harness.set_time(moment)
    assert teacher.messages == []
    await harness.set_time(at(3, 5, 10))
    [digest] = teacher.messages
    assert "您有4项待办事项" in digest.plain and "&lt;小明&gt;" in (digest.text or "")
    assert "<小明>" in digest.plain and len(digest.text or "") < 4096
    assert (
        sorted(d.split(":")[2] for d in digest.button_data.values() if d.startswith("do:"))
        == ["A7.1-call"] * 4  # one button a task: its action
    )
    assert all(len(v.encode()) < 64 for v in digest.button_data.values())
    await harness.restart()
    await harness.set_time(at(3, 5, 10, 1))
    assert len(teacher.messages) == 1
    assert await harness.s.outbox.counts() == {"sent": 1}


async def test_reminders_of_a_closed_case_are_withdrawn(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, TEACHER)
    case = await open_case(s, d.students["张三"], T0)
    harness.clock.set(at(3, 4, 13))
    await harness.sweep(deliver=False)  # queued, not yet delivered (Telegram down, say)
    await s.cases.close(case.id, status="returned", now=harness.clock.now(), actor="cli:test")
    report = await harness.sweep()
    assert report.withdrawn == 1 and harness.fake.user(TEACHER[0]).messages == []
    assert await s.outbox.counts() == {"cancelled": 1}


async def test_nobody_to_tell_is_reported_and_retried(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    await open_case(s, d.students["孙八"], T0)  # 文昌中学: nobody is bound to Telegram
    await harness.set_time(at(3, 4, 13), sweep=False)
    report = await harness.sweep()
    assert report.unassigned == ["KC-2024-0001 A7.1-call"] and report.queued == 0
    await bind(harness, (30, "13900000030"))  # the principal joins: the task reaches them
    report = await harness.sweep()
    assert report.handovers == 1
    assert "转办" in (await harness.fake.user(30).next_message()).plain


async def test_a_school_day_ladder_and_a_policy_file(tmp_path: Path) -> None:
    """The sweep follows the policy file (school days): nothing on the weekend."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[ladder]\nday_counting = "school_days"\n', encoding="utf-8")
    async with BotHarness(tmp_path / "k.db", T0, policy_path=str(policy)) as harness:
        s = harness.s
        d = await small_district(s, T0)
        await bind(harness, LEAD)
        await open_case(s, d.students["张三"], at(3, 7, 9))  # Thursday
        lead = harness.fake.user(LEAD[0])
        # day 3 in school days is Tuesday 12 March (Fri, Mon, Tue), not Sunday 10 March
        for day in (8, 9, 10, 11):
            await harness.set_time(at(3, day, 9))
        assert not any("ack:1:A7.2" in str(m.button_data) for m in lead.messages)
        before = len(lead.messages)
        await harness.set_time(at(3, 12, 8))
        assert ["ack:1:A7.2" in str(m.button_data) for m in lead.messages[before:]] == [True]


async def test_a_reminder_that_could_not_go_before_20_waits_for_the_morning(
    harness: BotHarness,
) -> None:
    """Telegram is down when the call's notice goes at 17:00; back at 20:01 the retry is due,
    but nothing of the sweep is sent in the quiet hours, not even after a restart at night."""
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, TEACHER)
    teacher = harness.fake.user(TEACHER[0])
    await open_case(s, d.students["张三"], at(3, 4, 14))  # due 18:00, told at 17:00
    harness.fake.set_offline(True)
    await harness.set_time(at(3, 4, 17))
    assert await s.outbox.counts() == {"pending": 1}
    harness.fake.set_offline(False)
    await harness.set_time(at(3, 4, 20, 1))
    await harness.restart()
    await harness.set_time(at(3, 4, 23))
    assert teacher.messages == []
    await harness.set_time(at(3, 5, 8))
    [reminder] = teacher.messages
    assert "事项：请电话联系监护人" in reminder.plain  # A7.1
    assert await harness.s.outbox.counts() == {"sent": 1}


async def test_when_the_supervisor_has_blocked_the_bot_too_it_goes_one_step_further(
    harness: BotHarness,
) -> None:
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, TEACHER, PRINCIPAL, BUREAU)
    harness.fake.user(TEACHER[0]).block()
    harness.fake.user(PRINCIPAL[0]).block()
    case = await open_case(s, d.students["张三"], T0)
    await harness.set_time(at(3, 4, 13))  # 403 from the teacher, then from the principal
    bureau = harness.fake.user(BUREAU[0])
    handed = await bureau.wait_for(lambda m: "转办" in m.plain)
    assert "王校长" in handed.plain and f"ack:{case.id}:A7.1-call" in handed.button_data.values()
    for who in (TEACHER, PRINCIPAL):
        person = await s.people.by_phone(who[1])
        assert person is not None and person.unreachable_at is not None
    await harness.set_time(at(3, 4, 14))
    assert len(bureau.messages) == 1
