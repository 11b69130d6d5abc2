"""A10: administrators are warned weekly from 90 days before the measures end; school-day
counting without the year's holidays is flagged too. Real SQLite file, controlled clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.policy.tree import DayCounting
from kcbx.bot.domain.roles import Role
from kcbx.bot.engine.validity import queue_validity_warnings
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services


async def _services(tmp_path: Path, when: datetime) -> tuple[Services, FakeClock]:
    clock = FakeClock(when)
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), clock)
    district = await services.units.add("district", "沙坡头区")
    admin = await services.people.create(
        name="管理员", role=Role.ADMIN, unit_id=district, phone="13900000001", actor="t", now=when
    )
    await services.people.bind_telegram(
        admin.id, telegram_id=11, chat_id=11, lang="zh_CN", name="", now=when
    )
    teacher = await services.people.create(
        name="老师", role=Role.PRINCIPAL, unit_id=district, phone="13900000002", actor="t", now=when
    )
    await services.people.bind_telegram(
        teacher.id, telegram_id=12, chat_id=12, lang="zh_CN", name="", now=when
    )
    return services, clock


async def _texts(services: Services) -> list[str]:
    rows = await services.db.fetchall("SELECT chat_id, payload FROM outbox ORDER BY id")
    return [f"{r['chat_id']}:{r['payload']}" for r in rows]


async def test_warned_from_90_days_before_the_end_weekly(tmp_path: Path) -> None:
    ends = datetime(2028, 12, 15, 2, 0, tzinfo=UTC)
    services, clock = await _services(tmp_path, ends - timedelta(days=91))
    assert await queue_validity_warnings(services) == 0
    clock.set(ends - timedelta(days=90))
    assert await queue_validity_warnings(services) == 1
    assert await queue_validity_warnings(services) == 0  # once a week, not once a sweep
    [only] = await _texts(services)
    # the end falls in the clock's year: the date without it
    assert only.startswith("11:") and "有效期至12月15日（周五）" in only and "（第十条）" in only
    clock.advance(timedelta(days=7))
    assert await queue_validity_warnings(services) == 1
    clock.set(ends + timedelta(days=3))
    assert await queue_validity_warnings(services) == 1
    assert "已于" in (await _texts(services))[-1] or "expired" in (await _texts(services))[-1]
    await services.close()


async def test_school_days_without_the_years_holidays_are_flagged(tmp_path: Path) -> None:
    services, _clock = await _services(tmp_path, datetime(2027, 3, 1, 2, 0, tzinfo=UTC))
    assert await queue_validity_warnings(services) == 0  # calendar days: no holidays needed
    services.policy = replace(
        services.policy,
        ladder=replace(services.policy.ladder, day_counting=DayCounting.SCHOOL_DAYS),
    )
    known = services.calendar.knows_holidays(2027)
    assert await queue_validity_warnings(services) == (0 if known else 1)
    await services.close()
