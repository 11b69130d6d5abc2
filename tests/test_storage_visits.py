"""Storage (issue 4) on real SQLite files: referrals (A6, A9), records with evidence kept in
one transaction, closing a case as exempt (A3) or transferred, and households for coverage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.model import Case
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.storage.db import IntegrityError
from kcbx.storage.visits import CaseNotOpen, EvidenceFile
from kcbx.testing.seed import T0, District, small_district


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    opened = await Services.open(Config(db_path=str(tmp_path / "kcbx.db")), FakeClock(T0))
    yield opened
    await opened.close()


async def _case(services: Services, d: District, name: str = "张三") -> Case:
    return await services.cases.open_case(
        student_id=d.students[name],
        reported_by=None,
        absent_since=date(2024, 3, 4),
        cause="poverty",
        guardian_contact=None,
        note=None,
        now=T0,
        year=2024,
        actor="cli:test",
    )


def _photo(data: bytes = b"photo") -> EvidenceFile:
    return EvidenceFile("photo", data, "p.jpg", "image/jpeg", file_id="AgAC1", file_unique_id="u1")


async def test_a_referral_opens_once_withdraws_and_comes_back(services: Services) -> None:
    d = await small_district(services, T0)
    case = await _case(services, d)
    civil = await services.referrals.department_unit("civil_affairs")
    assert civil == d.units["dept:civil_affairs"]
    assert await services.referrals.department_unit("no_such") is None
    # another district's department of the same code is not ours
    other = await services.units.add("district", "中宁县")
    theirs = await services.units.add("department", "中宁民政", other, code="civil_affairs")
    assert await services.referrals.department_unit("civil_affairs", other) == theirs
    assert await services.referrals.department_unit("civil_affairs", d.units["district"]) == civil
    first = await services.referrals.refer(case.id, civil, reason="poverty", now=T0, actor="system")
    assert first is not None and first.status == "open" and first.department_code == "civil_affairs"
    # the sweep's hook runs again (a retry): nothing new
    assert (
        await services.referrals.refer(case.id, civil, reason="poverty", now=T0, actor="x") is None
    )
    assert await services.referrals.accept(first.id, person_id=d.people["13900000040"], now=T0)
    assert not await services.referrals.accept(first.id, person_id=d.people["13900000040"], now=T0)
    assert await services.referrals.withdraw(first.id, why="cause:illness", now=T0, actor="x")
    assert await services.referrals.of_case(case.id) == []
    assert await services.referrals.count_inbox(civil) == 0
    again = await services.referrals.refer(case.id, civil, reason="illness", now=T0, actor="x")
    assert again is not None and again.id == first.id and again.status == "open"
    assert again.accepted_by is None and again.reason == "illness"
    inbox = await services.referrals.inbox(civil, limit=5)
    assert [(i.case_number, i.student_name) for i in inbox] == [(case.number, "张三")]
    actions = [e["action"] for e in await services.audit.entries()]
    assert actions.count("refer") == 2
    assert {"referral:accepted", "referral:withdrawn"} <= set(actions)


async def test_a_record_keeps_its_evidence_in_the_same_transaction(services: Services) -> None:
    d = await small_district(services, T0)
    case = await _case(services, d)
    action = await services.visits.record(
        case.id,
        kind="home_visit",
        actor_id=d.people["13900000014"],
        at=T0,
        now=T0,
        rule="A5.1",
        detail={"outcome": "refused"},
        evidence=[_photo(b"one"), _photo(b"two")],
    )
    kept = await services.visits.evidence_of_case(case.id)
    assert [e.action_id for e in kept] == [action.id, action.id]
    blob = await services.outbox.blob(kept[1].blob_id)
    assert blob is not None and blob[0] == b"two"
    assert kept[0].file_id == "AgAC1" and kept[0].size == 3

    # a failure half-way leaves nothing: no action, no blob, no evidence
    actions_before = len(await services.cases.actions(case.id))
    blobs_before = await services.db.fetchval("SELECT COUNT(*) FROM blobs")
    broken = EvidenceFile("movie", b"x", "x", "video/mp4")  # violates evidence.kind
    with pytest.raises(IntegrityError, match=r"(?i)check"):
        await services.visits.record(
            case.id,
            kind="home_visit",
            actor_id=d.people["13900000014"],
            at=T0,
            now=T0,
            rule=None,
            detail={},
            evidence=[_photo(), broken],
        )
    assert len(await services.cases.actions(case.id)) == actions_before
    assert await services.db.fetchval("SELECT COUNT(*) FROM blobs") == blobs_before


async def test_exempt_closes_the_case_sets_the_flag_and_keeps_the_evidence(
    services: Services,
) -> None:
    d = await small_district(services, T0)
    case = await _case(services, d)
    bureau = d.people["13900000003"]
    await services.visits.close_case(
        case.id,
        status="exempt",
        kind="exempted",
        actor_id=bureau,
        at=T0,
        now=T0 + timedelta(hours=1),
        rule="A3",
        detail={"note": "medical review"},
        evidence=[EvidenceFile("document", b"%PDF-1.4", "review.pdf", "application/pdf")],
        mark_exempt=True,
    )
    closed = await services.cases.get(case.id)
    student = await services.students.get(d.students["张三"])
    assert closed is not None and closed.status == "exempt" and closed.closed_at is not None
    assert student is not None and student.exempt
    assert [e.filename for e in await services.visits.evidence_of_case(case.id)] == ["review.pdf"]
    with pytest.raises(CaseNotOpen):
        await services.visits.close_case(
            case.id,
            status="transferred",
            kind="transferred",
            actor_id=bureau,
            at=T0,
            now=T0,
            rule=None,
            detail={},
            evidence=[],
        )
    with pytest.raises(CaseNotOpen):
        await services.visits.record(
            case.id,
            kind="phone_call",
            actor_id=bureau,
            at=T0,
            now=T0,
            rule=None,
            detail={},
            evidence=[],
        )


async def test_households_are_guardian_phones_within_a_group(services: Services) -> None:
    d = await small_district(services, T0)
    async with services.db.transaction():
        # 李四 is 张三's sibling: the same guardian phone makes one household
        await services.db.execute(
            "UPDATE guardians SET phone = (SELECT phone FROM guardians WHERE student_id = ?)"
            " WHERE student_id = ?",
            (d.students["张三"], d.students["李四"]),
        )
        # <小明> has no guardian phone: a household of its own
        await services.db.execute(
            "UPDATE guardians SET phone = NULL WHERE student_id = ?", (d.students["<小明>"],)
        )
    rows = await services.coverage.households(d.units["binhe"])
    by_unit = {}
    for row in rows:
        by_unit.setdefault(row.unit_id, []).append(row)
    group_one = by_unit[d.units["xindun/1"]]
    assert sorted(r.students for r in group_one) == [1, 2]
    assert any(r.key == f"student:{d.students['<小明>']}" for r in group_one)
    assert len(by_unit[d.units["xindun/2"]]) == 2
    assert d.units["huangwan/1"] not in by_unit  # another township
    cadres = await services.coverage.cadres(d.units["binhe"])
    assert {c.role for c in cadres} == {Role.GROUP_CADRE, Role.VILLAGE_CADRE, Role.TOWNSHIP_CADRE}
    assert await services.coverage.students_without_household(None) == 0
    units = {u.id for u in await services.coverage.units(d.units["xindun/1"])}
    assert {d.units["xindun/1"], d.units["xindun"], d.units["binhe"], d.units["district"]} <= units
