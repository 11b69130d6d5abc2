"""The register of notices on real SQLite files (A7.4, A7.5; issue 6).

Numbers never repeat and never skip, even with issuers at the same moment: in one process
(one connection, asyncio.gather) and across processes (two connections to one file, each
with its own lock, so only SQLite's BEGIN IMMEDIATE keeps them apart).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.model import Notice
from kcbx.bot.domain.policy.reading import default_policy
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.storage.db import IntegrityError
from kcbx.storage.notices import NoticeRepo

T0 = datetime(2024, 3, 19, 1, 0, tzinfo=UTC)
NUMBER = default_policy().notice


async def _services(path: Path, students: int = 40) -> tuple[Services, list[int]]:
    """A district with one school and ``students`` children, each with an open case."""
    services = await Services.open(Config(db_path=str(path)), FakeClock(T0))
    district = await services.units.add("district", "沙坡头区")
    school = await services.units.add("school", "滨河小学", district, section="primary")
    cases = []
    for n in range(students):
        async with services.db.transaction():
            student = await services.db.execute(
                "INSERT INTO students (registry_no, name, school_id, updated_at)"
                " VALUES (?, ?, ?, 'x')",
                (f"G{n:018d}", f"学生{n}", school),
            )
        case = await services.cases.open_case(
            student_id=student,
            reported_by=None,
            absent_since=date(2024, 3, 4),
            cause="unknown",
            guardian_contact=None,
            note=None,
            now=T0,
            year=2024,
            actor="t",
        )
        cases.append(case.id)
    return services, cases


async def _open(repo: NoticeRepo, case_id: int, kind: str = "notice") -> Notice:
    notice, _new = await repo.open_document(
        case_id,
        kind,
        year=2024,
        number=lambda seq: NUMBER.number(2024, seq, kind),
        issue_date=date(2024, 3, 19),
        task="A7.4-notice" if kind == "notice" else "A7.5",
        cites_id=None,
        reuse_delivered=kind == "notice",
        now=T0,
        actor="system",
    )
    return notice


async def _deliver(services: Services, notice: Notice, case_id: int) -> bool:
    async with services.db.transaction():
        person = await services.db.execute(
            "INSERT INTO people (name, role, created_at) VALUES ('乙', 'bureau_staff', 'x')"
        )
    blob = await services.outbox.put_blob(data=b"jpeg", filename="r.jpg", mime="image/jpeg", now=T0)
    action = await services.cases.record_action(
        case_id, kind="notice_delivered", actor_id=person, at=T0, now=T0, rule="A7.4"
    )
    return await services.notices.mark_delivered(
        notice.id,
        delivered_on=date(2024, 3, 20),
        delivered_to="张父（父亲）",
        person_id=person,
        receipt_blob_id=blob,
        deadline=date(2024, 3, 27),
        action_id=action.id,
        now=T0,
    )


async def test_numbers_run_per_kind_and_year_in_the_policy_format(tmp_path: Path) -> None:
    services, cases = await _services(tmp_path / "k.db", students=3)
    first = await _open(services.notices, cases[0])
    second = await _open(services.notices, cases[1])
    order = await _open(services.notices, cases[0], "correction")
    assert (first.number, second.number) == ("沙教控辍〔2024〕1号", "沙教控辍〔2024〕2号")
    assert order.number == "沙教控辍改〔2024〕1号"  # A7.5: its own series and format
    assert (first.status, first.issue_date, first.pdf_blob_id) == (
        "drafted",
        date(2024, 3, 19),
        None,
    )
    # every numbering is in the audit log
    numbered = await services.audit.entries(action="notice:number")
    assert [e["detail"]["number"] for e in numbered] == [first.number, second.number, order.number]
    await services.close()


async def test_one_notice_per_case_and_a_new_order_after_the_last_was_delivered(
    tmp_path: Path,
) -> None:
    services, cases = await _services(tmp_path / "k.db", students=1)
    repo = services.notices
    notice = await _open(repo, cases[0])
    assert (await _open(repo, cases[0])).id == notice.id  # every recipient gets the same number
    order = await _open(repo, cases[0], "correction")
    assert (await _open(repo, cases[0], "correction")).id == order.id  # still pending: reused
    await _deliver(services, order, cases[0])
    again = await _open(repo, cases[0], "correction")  # A7.5 again: a renewed order
    assert again.id != order.id and again.number == "沙教控辍改〔2024〕2号"
    assert (await _open(repo, cases[0])).id == notice.id
    await services.close()


async def test_concurrent_issuers_get_no_duplicate_and_no_missing_number(tmp_path: Path) -> None:
    services, cases = await _services(tmp_path / "k.db", students=40)
    notices = await asyncio.gather(*(_open(services.notices, case) for case in cases))
    assert sorted(n.seq for n in notices) == list(range(1, 41))
    assert len({n.number for n in notices}) == 40
    assert await services.notices.numbers("notice", 2024) == list(range(1, 41))
    await services.close()


async def test_two_connections_at_once_still_number_without_gap_or_repeat(tmp_path: Path) -> None:
    """Two bots (or the bot and the CLI) on one database file: SQLite serialises the writers."""
    path = tmp_path / "k.db"
    first, cases = await _services(path, students=40)
    second = await Services.open(Config(db_path=str(path)), FakeClock(T0))
    pairs = [(first if i % 2 else second, case) for i, case in enumerate(cases)]
    notices = await asyncio.gather(*(_open(s.notices, case) for s, case in pairs))
    assert sorted(n.seq for n in notices) == list(range(1, 41))
    assert await first.notices.numbers("notice", 2024) == list(range(1, 41))
    await second.close()
    await first.close()


async def test_the_database_refuses_a_repeated_number(tmp_path: Path) -> None:
    services, cases = await _services(tmp_path / "k.db", students=2)
    await _open(services.notices, cases[0])
    with pytest.raises(IntegrityError):
        async with services.db.transaction():
            await services.db.execute(
                "INSERT INTO notices (case_id, kind, year, seq, number, created_at, created_by,"
                " issue_date) VALUES (?, 'notice', 2024, 1, 'other text', 'x', 'x', '2024-03-19')",
                (cases[1],),
            )
    assert await services.notices.numbers("notice", 2024) == [
        1
    ]  # rolled back, nothing half-written
    await services.close()


async def test_a_reissued_notice_gets_a_new_number_and_points_to_the_old(tmp_path: Path) -> None:
    services, cases = await _services(tmp_path / "k.db", students=2)
    repo = services.notices
    old = await _open(repo, cases[0])
    await _open(repo, cases[1])  # 002 goes to another case meanwhile

    def numbering(seq: int) -> str:
        return NUMBER.number(2024, seq)

    new = await repo.reissue(
        old, year=2024, number=numbering, issue_date=old.issue_date, now=T0, actor="person:1"
    )
    assert new is not None
    assert (new.number, new.replaces_id) == ("沙教控辍〔2024〕3号", old.id)
    kept = await repo.get(old.id)
    assert kept is not None and kept.status == "replaced"  # the old number stays in the register
    assert (await repo.current(cases[0], "notice")) == new
    again = await repo.reissue(
        old, year=2024, number=numbering, issue_date=old.issue_date, now=T0, actor="x"
    )
    assert again is None  # replaced once only: a double press makes no second number
    assert await repo.numbers("notice", 2024) == [1, 2, 3]
    assert [n.number for n in await repo.of_case(cases[0])] == [old.number, new.number]
    await services.close()


async def test_issued_then_delivered_once(tmp_path: Path) -> None:
    services, cases = await _services(tmp_path / "k.db", students=1)
    repo = services.notices
    notice = await _open(repo, cases[0])
    async with services.db.transaction():
        person = await services.db.execute(
            "INSERT INTO people (name, role, created_at) VALUES ('乙', 'bureau_staff', 'x')"
        )
    assert await repo.mark_issued(notice.id, person_id=person, now=T0)
    assert not await repo.mark_issued(notice.id, person_id=person, now=T0)  # once
    assert await _deliver(services, notice, cases[0])
    assert not await _deliver(services, notice, cases[0])  # once
    stored = await repo.get(notice.id)
    assert stored is not None
    assert (stored.status, stored.delivered_on, stored.deadline) == (
        "delivered",
        date(2024, 3, 20),
        date(2024, 3, 27),
    )
    assert stored.issued_by == person  # issued stays who issued it
    assert stored.receipt_blob_id is not None
    actions = [e["action"] for e in await services.audit.entries(entity="notice")]
    assert actions == ["notice:issue", "notice:deliver"]
    await services.close()
