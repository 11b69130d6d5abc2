"""What end-to-end tests of a visit do again and again: people bound by their roster phone,
presses that wait for the next question, and a day-7 case that reaches the household's cadre.
The phones are the seed district's (kcbx.testing.seed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from kcbx.bot.domain.model import Case
from kcbx.testing.fakebot import FakeUser, SentMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import District

TEACHER = "13900000022"  # 李老师, class 3-1 of 滨河小学
GROUP_CADRE = "13900000014"  # 包户干部, 新墩村/一组
POLICE = "13900000041"  # 公安联络员: a case of poverty is not referred to police


def sh(day: int, hour: int = 9) -> datetime:
    """A day of March 2024 at ``hour`` in Shanghai, as UTC."""
    return datetime(2024, 3, day, hour, tzinfo=UTC) - timedelta(hours=8)


async def bind(harness: BotHarness, phone: str) -> FakeUser:
    """The person of the roster with ``phone``, bound to a Telegram account of their own."""
    user_id = int(phone[-4:]) + 1000
    await harness.bind_quietly(user_id, phone=phone)
    return harness.fake.user(user_id)


def has(data: str) -> Callable[[SentMessage], bool]:
    """A message offering a button with this callback data."""
    return lambda m: data in m.button_data.values()


async def step(user: FakeUser, press: str, expect: str) -> SentMessage:
    """Press, then the question offering ``expect`` (behind its [更多] if need be)."""
    await user.press(press)
    more = expect.rsplit(":", 1)[0] + "p:"
    shown = await user.wait_for(
        lambda m: any(d == expect or d.startswith(more) for d in m.button_data.values())
    )
    return await user.page_to(shown, expect)


async def cadre_told_of_day_7(harness: BotHarness, d: District, cadre: FakeUser) -> Case:
    """张三's case of poverty, reported on 4 March; on day 7 (A7.3) the household's cadre is
    told, with the button to record a visit."""
    s = harness.s
    case = await s.cases.open_case(
        student_id=d.students["张三"],
        reported_by=d.people[TEACHER],
        absent_since=date(2024, 3, 4),
        cause="poverty",
        guardian_contact="unreached",
        note=None,
        now=s.clock.now(),
        year=2024,
        actor=f"person:{d.people[TEACHER]}",
    )
    await harness.set_time(sh(11, 8))
    await cadre.wait_for(has(f"vis:{case.id}"))
    return case


async def home_visit_up_to_evidence(cadre: FakeUser, case: Case) -> tuple[SentMessage, SentMessage]:
    """/visit from the cadre's button: a home visit today, the guardians met, undecided, the
    cause unchanged. The outcome question (after the guardians) and the evidence question."""
    await step(cadre, f"vis:{case.id}", "vv:k:home_visit")
    await step(cadre, "vv:k:home_visit", "vv:d:0")
    await step(cadre, "vv:d:0", "vv:m:guardians")
    outcomes = await step(cadre, "vv:m:guardians", "vv:o:undecided")
    await step(cadre, "vv:o:undecided", "vv:c:=")
    return outcomes, await step(cadre, "vv:c:=", "vv:s")
