"""Storage on real SQLite files: migrations, transactions, invitations, scope (issue 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.scope import can_see_student
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.access import (
    AccessError,
    accept_invitation,
    create_invitation,
    revoke_person,
)
from kcbx.storage.db import Database, IntegrityError, migration_files
from kcbx.storage.students import scope_clause

T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)


async def test_migrations_are_recorded_and_not_reapplied(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    versions = [r[0] for r in await db.fetchall("SELECT version FROM schema_version")]
    assert versions == [n for n, _, _ in migration_files(db.dialect)]
    if db.dialect == "sqlite":
        assert (await db.fetchval("PRAGMA journal_mode")) == "wal"
        assert (await db.fetchval("PRAGMA foreign_keys")) == 1
    await db.close()
    again = await Database.open(tmp_path / "k.db")
    assert await again.migrate() == []
    await again.close()


async def test_a_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.execute("INSERT INTO units (kind, name) VALUES ('district', 'X')")
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT COUNT(*) FROM units") == 0
    await db.close()


async def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        async with db.transaction():
            await db.execute(
                "INSERT INTO units (kind, name, parent_id) VALUES ('village', 'v', 99)"
            )
    await db.close()


async def _district(services: Services) -> dict[str, int]:
    units = services.units
    d = await units.add("district", "沙坡头区")
    t1 = await units.add("township", "滨河镇", d)
    t2 = await units.add("township", "文昌镇", d)
    v1 = await units.add("village", "新墩村", t1)
    g1 = await units.add("group", "一组", v1)
    v2 = await units.add("village", "黄湾村", t2)
    g2 = await units.add("group", "一组", v2)
    s1 = await units.add("school", "滨河小学", t1, section="primary")
    s2 = await units.add("school", "文昌中学", t2, section="junior")
    return {"d": d, "t1": t1, "t2": t2, "v1": v1, "g1": g1, "v2": v2, "g2": g2, "s1": s1, "s2": s2}


async def _student(services: Services, reg: str, school: int, class_id: int, group: int) -> int:
    async with services.db.transaction():
        return await services.db.execute(
            "INSERT INTO students (registry_no, name, school_id, class_id, grade,"
            " household_unit_id, updated_at) VALUES (?, ?, ?, ?, 3, ?, 'x')",
            (reg, "张三" + reg, school, class_id, group),
        )


async def test_invitation_binds_once_and_expires(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), clock)
    u = await _district(services)
    invitation = await create_invitation(
        services,
        role=Role.CLASS_TEACHER,
        unit_text="滨河小学",
        name="李老师",
        phone=None,
        actor="cli:test",
    )
    assert len(invitation.code) <= 64
    stored = await services.db.fetchval("SELECT code FROM invites")
    assert stored != invitation.code  # stored hashed
    person = await accept_invitation(
        services, invitation.code, telegram_id=7, chat_id=7, lang="zh_CN", name="x"
    )
    assert person is not None and person.telegram_id == 7 and person.unit_id == u["s1"]
    # a used code binds nobody else
    assert (
        await accept_invitation(
            services, invitation.code, telegram_id=8, chat_id=8, lang="zh_CN", name="y"
        )
        is None
    )
    # an expired one neither
    late = await create_invitation(
        services,
        role=Role.PRINCIPAL,
        unit_text="滨河小学",
        name="王校长",
        phone=None,
        actor="cli:test",
    )
    clock.advance(timedelta(days=7, seconds=1))
    assert (
        await accept_invitation(
            services, late.code, telegram_id=9, chat_id=9, lang="zh_CN", name="z"
        )
        is None
    )
    # forged codes, too long or with bad characters
    for forged in ("x" * 65, "abc$%", "", "' OR 1=1 --"):
        assert (
            await accept_invitation(
                services, forged, telegram_id=10, chat_id=10, lang="zh_CN", name="z"
            )
            is None
        )
    actions = [e["action"] for e in await services.audit.entries()]
    assert actions.count("invite") == 2 and "accept_invite" in actions and "bind" in actions
    await services.close()


async def test_invitation_needs_a_unit_of_the_right_kind(tmp_path: Path) -> None:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T0))
    await _district(services)
    with pytest.raises(AccessError):
        await create_invitation(
            services, role=Role.PRINCIPAL, unit_text="滨河镇", name=None, phone=None, actor="t"
        )
    with pytest.raises(AccessError):  # 一组 exists in two villages: the path is needed
        await create_invitation(
            services, role=Role.GROUP_CADRE, unit_text="一组", name=None, phone=None, actor="t"
        )
    ok = await create_invitation(
        services, role=Role.GROUP_CADRE, unit_text="黄湾村/一组", name="赵", phone=None, actor="t"
    )
    assert ok.person.name == "赵"
    await services.close()


async def test_revoked_person_cannot_use_an_open_invitation(tmp_path: Path) -> None:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T0))
    await _district(services)
    invitation = await create_invitation(
        services, role=Role.PRINCIPAL, unit_text="滨河小学", name="王", phone=None, actor="t"
    )
    await revoke_person(services, str(invitation.person.id), actor="t")
    assert (
        await accept_invitation(
            services, invitation.code, telegram_id=5, chat_id=5, lang="en", name="w"
        )
        is None
    )
    await services.close()


async def test_scope_sql_and_pure_check_agree(tmp_path: Path) -> None:
    """Every role sees exactly its scope, by the SQL listing and by the pure check alike."""
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T0))
    u = await _district(services)
    now = T0

    async def person(role: Role, unit: int) -> int:
        p = await services.people.create(
            name=role.value, role=role, unit_id=unit, phone=None, actor="t", now=now
        )
        return p.id

    teacher = await person(Role.CLASS_TEACHER, u["s1"])
    other_teacher = await person(Role.CLASS_TEACHER, u["s1"])
    async with services.db.transaction():
        c1 = await services.db.execute(
            "INSERT INTO classes (school_id, grade, name, teacher_id) VALUES (?, 3, '1班', ?)",
            (u["s1"], teacher),
        )
        c2 = await services.db.execute(
            "INSERT INTO classes (school_id, grade, name, teacher_id) VALUES (?, 3, '2班', ?)",
            (u["s1"], other_teacher),
        )
        c3 = await services.db.execute(
            "INSERT INTO classes (school_id, grade, name) VALUES (?, 7, '1班')", (u["s2"],)
        )
    a = await _student(services, "A", u["s1"], c1, u["g1"])  # 滨河 school, 滨河 household
    b = await _student(services, "B", u["s1"], c2, u["g2"])  # 滨河 school, 文昌 household
    c = await _student(services, "C", u["s2"], c3, u["g2"])  # 文昌 school, 文昌 household
    expected = {
        (Role.CLASS_TEACHER, None): {a},
        (Role.PRINCIPAL, u["s1"]): {a, b},
        (Role.TOWNSHIP_LEADER, u["t1"]): {a, b},  # its school's students and its households
        (Role.TOWNSHIP_LEADER, u["t2"]): {b, c},
        (Role.TOWNSHIP_CADRE, u["v1"]): {a},
        (Role.GROUP_CADRE, u["g2"]): {b, c},
        (Role.DISTRICT_LEADER, u["d"]): {a, b, c},
        (Role.DEPARTMENT_LIAISON, u["d"]): set(),
    }
    for (role, unit), ids in expected.items():
        pid = teacher if role == Role.CLASS_TEACHER else await person(role, unit or u["d"])
        viewer = await services.people.get(pid)
        assert viewer is not None
        clause, params = scope_clause(viewer)
        rows = await services.db.fetchall(f"SELECT s.id FROM students s WHERE {clause}", params)
        assert {r[0] for r in rows} == ids, role
        for sid in (a, b, c):
            place = await services.students.place(sid)
            assert place is not None
            assert can_see_student(viewer, place) == (sid in ids), (role, sid)
    # a page of a class's buttons (id, name) lists what the full listing lists, in its order
    for name, grade in (("李四", None), ("王五", 2), ("赵六", 3), ("钱七", 2)):
        async with services.db.transaction():
            await services.db.execute(
                "INSERT INTO students (registry_no, name, school_id, class_id, grade,"
                " household_unit_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'x')",
                ("R" + name, name, u["s1"], c1, grade, u["g1"]),
            )
    for pid in (teacher, other_teacher, await person(Role.PRINCIPAL, u["s1"])):
        viewer = await services.people.get(pid)
        assert viewer is not None
        for offset in (0, 2, 4):
            listed = await services.students.visible(viewer, class_id=c1, limit=2, offset=offset)
            names = await services.students.names_in_class(viewer, c1, limit=2, offset=offset)
            assert names == [(s.id, s.name) for s in listed], (viewer.role, offset)
        assert bool(names) == (pid != other_teacher)  # another teacher's class: nothing
    # a revoked person sees nothing
    await services.people.revoke(teacher, actor="t", now=now)
    revoked = await services.people.get(teacher)
    assert revoked is not None
    place = await services.students.place(a)
    assert place is not None and not can_see_student(revoked, place)
    await services.close()
