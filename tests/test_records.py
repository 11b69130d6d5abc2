"""Children's data as the law treats it (PIPL art. 19, 28-31): who saw what, a log that shows
tampering, retention that keeps the counts, and backups that restore to the same picture.

Real SQLite files, a controlled clock; the reads go through the real bot and the fake Bot API.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from kcbx.bot.cli.main import main
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.retention import months_before
from kcbx.bot.engine.sweep import sweep
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import accountability_view
from kcbx.bot.services.cases import confirm_return
from kcbx.bot.services.reporting import ReportDraft, report_absence
from kcbx.bot.services.retention import apply_retention
from kcbx.bot.services.summary import summary_view
from kcbx.bot.services.visits import VisitDraft, record_visit
from kcbx.bot.texts.accountability import render_accountability
from kcbx.bot.texts.summary import render_summary
from kcbx.storage.records.backup import BackupError, backup_async, check, restore_copy
from kcbx.storage.visits import EvidenceFile
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district

ZH = translator("zh_CN")
TEACHER = "13900000022"  # 李老师, class 3-1: 张三, 李四, 王五, <小明>
LEADER = "13900000002"  # 区长甲
ADMIN = "13900000001"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"home" * 100


async def _open(path: Path, key: str = "") -> Services:
    return await Services.open(Config(db_path=str(path), audit_key=key), FakeClock(T0))


async def _person(services: Services, phone: str) -> Person:
    person = await services.people.by_phone(phone)
    assert person is not None
    return person


async def _write(services: Services, n: int) -> None:
    for i in range(n):
        await services.audit.record(
            at=T0, actor="cli:test", action="test", entity="thing", entity_id=i, detail={"i": i}
        )


def _sql(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.commit()
    conn.close()


async def _verdict(path: Path, key: str = "") -> tuple[bool, int | None, str]:
    services = await _open(path, key)
    try:
        verdict = await services.audit.verify()
    finally:
        await services.close()
    return verdict.ok, verdict.bad_id, verdict.reason


@pytest.mark.single_backend  # edits or copies the SQLite file itself
async def test_the_audit_log_shows_an_edited_a_removed_and_a_forged_row(tmp_path: Path) -> None:
    db = tmp_path / "kcbx.db"
    services = await _open(db)
    await _write(services, 6)
    assert (await services.audit.verify()).ok
    await services.close()
    assert await asyncio.to_thread(main, ["--db", str(db), "audit", "verify"]) == 0

    def tampered(name: str, statement: str) -> Path:
        copy = tmp_path / name
        shutil.copy(db, copy)
        _sql(copy, statement)
        return copy

    edited = tampered("edited.db", "UPDATE audit_log SET detail = '{\"i\": 9}' WHERE id = 3")
    assert await _verdict(edited) == (False, 3, "its content was changed")
    removed = tampered("removed.db", "DELETE FROM audit_log WHERE id = 4")
    assert await _verdict(removed) == (False, 5, "the row before it was changed or removed")
    tail = tampered("tail.db", "DELETE FROM audit_log WHERE id = 6")
    assert await _verdict(tail) == (False, None, "the newest rows were removed")
    forged = tampered(
        "forged.db",
        "INSERT INTO audit_log (id, at, actor, action, entity, detail)"
        " VALUES (7, '2024-03-04T01:00:00+00:00', 'person:1', 'export', 'ledger', '{}')",
    )
    assert (await _verdict(forged))[:2] == (False, 7)
    # the CLI says where, and exits 1
    assert await asyncio.to_thread(main, ["--db", str(edited), "audit", "verify"]) == 1


async def test_with_a_key_a_recomputed_chain_does_not_verify(tmp_path: Path) -> None:
    db = tmp_path / "keyed.db"
    services = await _open(db, key="county-secret")
    await _write(services, 3)
    await services.close()
    assert await _verdict(db, "county-secret") == (True, None, "")
    assert (await _verdict(db, "guessed"))[:2] == (False, 1)


@pytest.mark.single_backend  # edits or copies the SQLite file itself
async def test_rows_from_before_the_chain_are_chained_once(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    services = await _open(db)
    await _write(services, 4)
    await services.close()
    # as a database looked before migration 0015 chained it
    _sql(db, "UPDATE audit_log SET hash = NULL, prev_hash = NULL")
    _sql(db, "UPDATE audit_head SET last_hash = '', legacy_last_id = 4")
    assert await _verdict(db) == (True, None, "")
    # a row slipped in afterwards without a hash is not chained as if it were old
    _sql(
        db,
        "INSERT INTO audit_log (id, at, actor, action, entity, detail)"
        " VALUES (5, '2024-03-04T01:00:00+00:00', 'x', 'export', 'ledger', '{}')",
    )
    assert await _verdict(db) == (False, 5, "not chained")


async def _report(services: Services, d: District, name: str) -> int:
    teacher = await _person(services, TEACHER)
    draft = ReportDraft(d.students[name], date(2024, 3, 4), "weariness", "agreed", "家中有事")
    result = await report_absence(services, teacher, draft)
    assert result.created
    return result.case.id


async def test_opening_a_card_and_a_list_is_audited_and_an_admin_reads_it(
    harness: BotHarness,
) -> None:
    s = harness.s
    d = await small_district(s, T0)
    case_id = await _report(s, d, "张三")
    await harness.bind_quietly(951, phone=TEACHER)
    await harness.bind_quietly(952, phone=ADMIN)
    teacher, admin = harness.fake.user(951), harness.fake.user(952)

    await teacher.send("/cases")
    listing = await teacher.next_message()
    await teacher.press(f"case:{case_id}", listing)
    await teacher.wait_for(lambda m: "张三" in m.plain)
    await s.audit.flush()
    student = d.students["张三"]
    reads = [e for e in await s.audit.of_student(student) if e["action"].startswith("view:")]
    assert [(e["action"], e["entity_id"]) for e in reads] == [
        ("view:list", str(case_id)),
        ("view:card", str(case_id)),
    ]
    assert all(e["chat_id"] == 951 and e["student_id"] == student for e in reads)

    registry = (await s.students.get(student)).registry_no  # type: ignore[union-attr]
    await admin.send(f"/audit {registry}")
    history = await admin.wait_for(lambda m: "审计记录" in m.plain)
    assert "李老师" in history.plain and "查看案件卡片" in history.plain
    assert "报告缺课" in history.plain
    # a class teacher may not ask
    await teacher.send(f"/audit {registry}")
    assert "无权" in (await teacher.next_message()).plain
    assert (await s.audit.verify()).ok


async def _closed_case_with_a_visit(services: Services, clock: FakeClock) -> tuple[int, District]:
    d = await small_district(services, T0)
    case_id = await _report(services, d, "张三")
    teacher = await _person(services, TEACHER)
    clock.advance(timedelta(hours=2))
    draft = VisitDraft(
        case_id,
        kind="home_visit",
        on=clock.now().date(),
        met="guardians",
        outcome="agreed",
        place="在银川打工",
        location=(37.5, 105.2),
        photos=[EvidenceFile("photo", PHOTO, "home.png", "image/png", "F1", "U1")],
        note="祖母说孩子在家",
    )
    await record_visit(services, teacher, draft)
    clock.advance(timedelta(days=1))
    await confirm_return(services, teacher, case_id, confirmed=True)
    return case_id, d


async def _summary(services: Services) -> str:
    leader = await _person(services, LEADER)
    found = await summary_view(services, leader, None)
    assert found is not None
    text = render_summary(found.summary, services.policy, ZH, "zh_CN", in_group=False).text
    a8 = await accountability_view(services, leader)  # what A8 counts must not change either
    assert a8 is not None
    return text + "\n" + render_accountability(a8, 0, services.policy, ZH, "zh_CN").text


async def test_retention_removes_what_the_policy_says_and_keeps_the_counts(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    services = await Services.open(Config(db_path=str(tmp_path / "r.db")), clock)
    try:
        case_id, _ = await _closed_case_with_a_visit(services, clock)
        clock.advance(timedelta(days=200))
        assert (await apply_retention(services)).cases("photos") == 0  # too early
        clock.set(months_before(clock.now(), -13))
        picture = await _summary(services)
        dry = await apply_retention(services, dry_run=True)
        assert dry.cases("photos") == 1 and dry.files("photos") == 1
        assert dry.size("photos") == len(PHOTO) and dry.cases("details") == 0
        evidence = await services.db.fetchone(
            "SELECT * FROM evidence WHERE case_id = ?", (case_id,)
        )
        assert evidence is not None and evidence["purged_at"] is None  # the dry run wrote nothing

        done = await apply_retention(services)
        assert done.cases("photos") == 1 and done.cases("details") == 0
        row = await services.db.fetchone(
            "SELECT e.purged_at, e.file_id, LENGTH(b.data) AS size FROM evidence e"
            " JOIN blobs b ON b.id = e.blob_id WHERE e.case_id = ?",
            (case_id,),
        )
        assert row is not None and row["purged_at"] and row["file_id"] is None and row["size"] == 0
        assert (await apply_retention(services)).cases("photos") == 0  # once
        assert await _summary(services) == picture

        clock.set(months_before(clock.now(), -36))
        picture = await _summary(services)
        assert (await apply_retention(services)).cases("details") == 1
        actions = await services.cases.actions(case_id)
        visit = next(a for a in actions if a.kind == "home_visit")
        assert "note" not in visit.detail and "place" not in visit.detail
        assert "location" not in visit.detail and visit.detail["outcome"] == "agreed"
        case = await services.cases.get(case_id)
        assert case is not None and case.note is None and case.guardian_contact == "agreed"
        assert case.cause == "weariness" and case.status == "returned"
        assert await _summary(services) == picture
        kinds = [e["action"] for e in await services.audit.entries(entity="case")]
        assert kinds.count("retention:photos") == 1 and kinds.count("retention:details") == 1
        assert (await services.audit.verify()).ok
    finally:
        await services.close()


@pytest.mark.single_backend  # edits or copies the SQLite file itself
async def test_a_backup_taken_during_a_sweep_restores_to_the_same_summary(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    db = tmp_path / "live.db"
    services = await Services.open(Config(db_path=str(db)), clock)
    try:
        d = await small_district(services, T0)
        for name in ("张三", "李四", "王五"):
            await _report(services, d, name)
        clock.advance(timedelta(days=8))
        picture = await _summary(services)
        running = asyncio.create_task(sweep(services, clock.now()))
        made = await backup_async(db, tmp_path / "backups", now=clock.now(), keep=2)
        await running
        assert made.tables["cases"] == 3 and made.path.exists()
        # two more: only the last two are kept
        for minutes in (1, 2):
            later = clock.now() + timedelta(minutes=minutes)
            await backup_async(db, tmp_path / "backups", now=later, keep=2)
        assert len(list((tmp_path / "backups").glob("kcbx-*.db"))) == 2
    finally:
        await services.close()
    restored = tmp_path / "restored.db"
    copy = sorted((tmp_path / "backups").glob("kcbx-*.db"))[-1]
    assert restore_copy(copy, restored)["cases"] == 3
    with pytest.raises(BackupError, match="--force"):
        restore_copy(copy, db)
    again = await Services.open(Config(db_path=str(restored)), clock)
    try:
        assert await _summary(again) == picture
        assert (await again.audit.verify()).ok
    finally:
        await again.close()
    (tmp_path / "bad.db").write_bytes(b"not a database at all")
    with pytest.raises(BackupError):
        check(tmp_path / "bad.db")
    assert check(copy)["cases"] == 3


@pytest.mark.single_backend  # edits or copies the SQLite file itself
async def test_the_operators_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ops.db"
    services = await _open(db)
    try:
        d = await small_district(services, T0)
        await _report(services, d, "张三")
        registry = (await services.students.get(d.students["张三"])).registry_no  # type: ignore[union-attr]
    finally:
        await services.close()

    def kcbx(*args: str) -> int:
        return main(["--db", str(db), *args])

    assert await asyncio.to_thread(kcbx, "audit", "--student", registry) == 0
    assert "open_case" in capsys.readouterr().out
    assert await asyncio.to_thread(kcbx, "audit", "--person", "13900000000") == 1
    assert await asyncio.to_thread(kcbx, "backup", str(tmp_path / "b"), "--keep", "3") == 0
    assert "verified" in capsys.readouterr().out
    copy = next((tmp_path / "b").glob("kcbx-*.db"))
    assert await asyncio.to_thread(kcbx, "restore", str(copy)) == 1  # the live one exists
    assert "--force" in capsys.readouterr().out
    fresh = tmp_path / "fresh.db"
    assert await asyncio.to_thread(main, ["--db", str(fresh), "restore", str(copy)]) == 0
    assert await asyncio.to_thread(kcbx, "retention", "--dry-run") == 0
    assert "photos: would reduce 0 closed cases" in capsys.readouterr().out


async def test_a_summary_drilled_down_to_names_is_audited(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    case_id = await _report(s, d, "张三")
    await harness.bind_quietly(971, phone=LEADER)
    leader = harness.fake.user(971)
    await leader.send("/summary")
    summary = await leader.next_message()
    await s.audit.flush()
    assert [
        e for e in await s.audit.of_student(d.students["张三"]) if e["action"] == "view:list"
    ] == []
    await leader.press_data(f"sum:c:{d.units['binhe_primary']}:0", summary)
    await leader.wait_for(lambda m: "张三" in m.plain)
    await s.audit.flush()
    seen = [e for e in await s.audit.of_student(d.students["张三"]) if e["action"] == "view:list"]
    assert [(e["entity_id"], e["chat_id"]) for e in seen] == [(str(case_id), 971)]
