"""The case services on a real SQLite file (issue 3): a report opens one case in one
transaction; the relapse watch; a return (A7.6) closes the case and withdraws its messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.ladder import Stage
from kcbx.bot.domain.model import Person
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.cases import (
    Outcome,
    ReportDraft,
    ReportProblem,
    confirm_return,
    ladder_of,
    open_cases_page,
    record_task,
    report_absence,
)
from kcbx.bot.services.unfinished import tell_left_unfinished
from kcbx.storage.outbox import OutgoingMessage
from kcbx.testing.seed import T0, District, small_district

TEACHER = "13900000022"  # 李老师, class 3-1 of 滨河小学


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Services, District, FakeClock]]:
    clock = FakeClock(T0)
    services = await Services.open(Config(db_path=str(tmp_path / "kcbx.db")), clock)
    district = await small_district(services, T0)
    try:
        yield services, district, clock
    finally:
        await services.close()


async def _teacher(services: Services) -> Person:
    person = await services.people.by_phone(TEACHER)
    assert person is not None
    return person


def _draft(d: District, since: date, name: str = "张三", contact: str = "agreed") -> ReportDraft:
    return ReportDraft(d.students[name], since, "unknown", contact, None)


async def test_a_relapse_within_the_window_continues_at_the_day_reached(
    world: tuple[Services, District, FakeClock],
) -> None:
    services, d, clock = world
    teacher = await _teacher(services)
    first = await report_absence(services, teacher, _draft(d, date(2024, 3, 4)))
    clock.advance(timedelta(days=10))  # Thu 14 Mar, day 10 (A7.3 reached)
    closed = await confirm_return(services, teacher, first.case.id, confirmed=True)
    assert closed.outcome is Outcome.RECORDED and closed.case is not None
    assert closed.case.status == "returned"

    clock.advance(timedelta(days=6))  # Wed 20 Mar: absent again, 6 days after the return
    again = await report_absence(services, teacher, _draft(d, date(2024, 3, 20)))
    assert again.created and again.previous is not None
    assert (again.case.reopened_from, again.case.carried_days) == (first.case.id, 10)
    assert again.previous.relapse.stage is Stage.DROPOUT
    state, _ = await ladder_of(services, again.case)
    assert (state.stage, state.day) == (Stage.DROPOUT, 10)
    assert {"A7.3-mark", "A7.3-report", "A7.3-joint"} <= {t.code for t in state.due_tasks}


async def test_outside_the_window_or_after_an_exemption_a_case_starts_at_day_0(
    world: tuple[Services, District, FakeClock],
) -> None:
    services, d, clock = world
    teacher = await _teacher(services)
    first = await report_absence(services, teacher, _draft(d, date(2024, 3, 4)))
    clock.advance(timedelta(days=10))
    await confirm_return(services, teacher, first.case.id, confirmed=True)
    clock.advance(timedelta(days=31))  # 14 Apr: the window is 30 days from the return
    later = await report_absence(services, teacher, _draft(d, date(2024, 4, 14)))
    assert later.previous is None
    assert (later.case.reopened_from, later.case.carried_days) == (None, 0)

    other = await report_absence(services, teacher, _draft(d, date(2024, 4, 14), "李四"))
    await services.cases.close(other.case.id, status="exempt", now=clock.now(), actor="test")
    clock.advance(timedelta(days=1))
    after_exempt = await report_absence(services, teacher, _draft(d, date(2024, 4, 15), "李四"))
    assert after_exempt.previous is None and after_exempt.case.carried_days == 0


async def test_a_report_is_checked_again_at_confirm_and_never_doubles(
    world: tuple[Services, District, FakeClock],
) -> None:
    services, d, _ = world
    teacher = await _teacher(services)
    # another class's student, a future date, a date before the term: nothing written
    with pytest.raises(ReportProblem):
        await report_absence(services, teacher, _draft(d, date(2024, 3, 4), "赵六"))
    with pytest.raises(ReportProblem):
        await report_absence(services, teacher, _draft(d, date(2024, 3, 5)))
    with pytest.raises(ReportProblem):
        await report_absence(services, teacher, _draft(d, date(2024, 2, 29)))
    assert await services.db.fetchval("SELECT COUNT(*) FROM cases") == 0
    assert await services.db.fetchval("SELECT COUNT(*) FROM actions") == 0

    first = await report_absence(services, teacher, _draft(d, date(2024, 3, 4)))
    assert first.created and first.case.number == "KC-2024-0001"
    [call] = await services.cases.actions(first.case.id)
    assert (call.kind, call.rule, call.detail["outcome"]) == ("phone_call", "A7.1", "agreed")
    twice = await report_absence(services, teacher, _draft(d, date(2024, 3, 4)))
    assert not twice.created and twice.case.id == first.case.id and twice.state is not None
    assert await services.db.fetchval("SELECT COUNT(*) FROM cases") == 1


async def test_a_return_withdraws_the_pending_messages_of_the_case(
    world: tuple[Services, District, FakeClock],
) -> None:
    services, d, clock = world
    teacher = await _teacher(services)
    case = (await report_absence(services, teacher, _draft(d, date(2024, 3, 4)))).case
    other = (await report_absence(services, teacher, _draft(d, date(2024, 3, 4), "李四"))).case
    for key, case_id in (("a", case.id), ("b", other.id)):
        await services.outbox.enqueue(
            key=key,
            chat_id=1,
            message=OutgoingMessage(text="x"),
            now=clock.now(),
            not_before=clock.now() + timedelta(hours=5),
            case_id=case_id,
        )
    assert (await confirm_return(services, teacher, case.id, confirmed=False)).outcome is (
        Outcome.CONFIRM
    )
    assert (await services.cases.get(case.id)).is_open  # type: ignore[union-attr]
    await confirm_return(services, teacher, case.id, confirmed=True)
    rows = await services.db.fetchall("SELECT dedup_key, status FROM outbox ORDER BY dedup_key")
    assert [(r[0], r[1]) for r in rows] == [("a", "cancelled"), ("b", "pending")]
    # and a button of the closed case records nothing
    late = await record_task(services, teacher, case.id, "A7.1-call")
    assert late.outcome is Outcome.CLOSED
    assert [a.kind for a in await services.cases.actions(case.id)] == ["phone_call", "returned"]


async def test_a_timed_out_report_is_told_through_the_outbox(
    world: tuple[Services, District, FakeClock],
) -> None:
    services, _, clock = world
    teacher = await _teacher(services)
    await services.people.bind_telegram(
        teacher.id, telegram_id=501, chat_id=501, lang="en", name="", now=clock.now()
    )
    assert await tell_left_unfinished(services, 501, "report")
    assert not await tell_left_unfinished(services, 999, "report")  # nobody: nothing queued
    clock.set(datetime(2024, 3, 4, 13, 0, tzinfo=UTC))  # 21:00 in Shanghai: quiet hours
    assert await tell_left_unfinished(services, 501, "report")
    rows = await services.db.fetchall("SELECT * FROM outbox ORDER BY id")
    assert [r["chat_id"] for r in rows] == [501, 501]
    assert "left unfinished" in rows[0]["payload"]  # in the person's language
    assert rows[0]["next_attempt_at"] == "2024-03-04T01:00:00+00:00"
    assert rows[1]["next_attempt_at"] == "2024-03-05T00:00:00+00:00"  # 08:00 the next day


async def test_open_cases_are_paged_in_scope(world: tuple[Services, District, FakeClock]) -> None:
    services, d, _ = world
    teacher = await _teacher(services)
    for name in ("张三", "李四", "王五"):
        await report_absence(services, teacher, _draft(d, date(2024, 3, 4), name))
    pages = [await open_cases_page(services, teacher, n, per_page=2) for n in (0, 1, 5)]
    assert [[line.student.name for line in p.lines] for p in pages] == [
        ["张三", "李四"],
        ["王五"],
        ["王五"],  # past the end: the last page
    ]
    assert (pages[0].total, pages[0].pages) == (3, 2)
    assert pages[0].lines[0].next_task is not None
    other = await services.people.by_phone("13900000031")  # another school's teacher
    assert other is not None
    assert (await open_cases_page(services, other, 0)).total == 0
