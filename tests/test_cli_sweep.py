"""The operators' commands (issue 3): `kcbx sweep --now`, `kcbx sweep --dry-run --days 7`,
`kcbx policy check FILE`, through kcbx.bot.cli.main.main on a seeded database file."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.cli.main import main
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.testing.fakebot import FakeBotApi
from kcbx.testing.seed import T0, small_district

TOKEN = "123456:TEST-token_kcbx"


async def _seed(db: Path) -> None:
    """The small district; 李老师 and 王校长 bound to Telegram; 张三 absent since Monday."""
    services = await Services.open(Config(db_path=str(db)), FakeClock(T0))
    d = await small_district(services, T0)
    for user, phone in ((22, "13900000022"), (20, "13900000020")):
        person = await services.people.by_phone(phone)
        assert person is not None
        await services.people.bind_telegram(
            person.id, telegram_id=user, chat_id=user, lang="zh_CN", name="", now=T0
        )
    await services.cases.open_case(
        student_id=d.students["张三"],
        reported_by=None,
        absent_since=date(2024, 3, 4),
        cause="unknown",
        guardian_contact=None,
        note=None,
        now=T0,
        year=2024,
        actor="cli:test",
    )
    await services.close()


async def _state(db: Path) -> tuple[dict[str, int], int, int]:
    """Outbox counts, reminder rounds and audit entries: what a command wrote."""
    services = await Services.open(Config(db_path=str(db)), FakeClock(T0))
    try:
        counts = await services.outbox.counts()
        rounds = await services.db.fetchval("SELECT COUNT(*) FROM reminder_rounds")
        audit = await services.db.fetchval("SELECT COUNT(*) FROM audit_log")
        return counts, int(rounds), int(audit)
    finally:
        await services.close()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("KCBX_TELEGRAM_TOKEN", "KCBX_TELEGRAM_API_URL", "KCBX_DB", "KCBX_POLICY"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "kcbx.db"
    asyncio.run(_seed(path))
    return path


def test_sweep_now_offline_queues_and_prints_what_it_queued(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(db), "sweep", "--now", "2024-03-04T13:00"]) == 0
    out = capsys.readouterr().out
    assert "sweep at 2024-03-04 13:00" in out
    assert "KC-2024-0001 张三 A7.1-call (A7.1) round 1, owner class_teacher" in out
    assert "-> 李老师 (class_teacher)" in out
    assert "1 messages queued" in out and "offline" in out
    counts, rounds, _ = asyncio.run(_state(db))
    assert counts == {"pending": 1} and rounds == 1
    # the same time again: nothing twice
    assert main(["--db", str(db), "sweep", "--now", "2024-03-04T13:00+08:00"]) == 0
    assert "0 messages queued" in capsys.readouterr().out
    assert asyncio.run(_state(db))[0] == {"pending": 1}


def test_dry_run_lists_the_coming_week_and_writes_nothing(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = asyncio.run(_state(db))
    code = main(["--db", str(db), "sweep", "--dry-run", "--days", "7", "--now", "2024-03-04T09:00"])
    assert code == 0
    out = capsys.readouterr().out
    assert asyncio.run(_state(db)) == before  # nothing written, not even an audit entry
    lines = [line.strip() for line in out.splitlines()]
    expected = [
        # the first notice before the deadline (the lead time), with the owner and the due time
        "2024-03-04 12:00 KC-2024-0001 张三 A7.1-call (A7.1) round 1 (notice ahead), owner "
        "class_teacher, due Mon 03-04 13:00 -> 李老师 (class_teacher)",
        # 4 working hours after the deadline, then 4 more (the night does not count)
        "2024-03-04 17:00 KC-2024-0001 张三 A7.1-call (A7.1) round 2, owner class_teacher, "
        "due Mon 03-04 13:00 -> 李老师 (class_teacher)",
        "2024-03-05 11:00 KC-2024-0001 张三 A7.1-call (A7.1) escalated, owner class_teacher, "
        "due Mon 03-04 13:00 -> 王校长 (principal, escalated), 李老师 (class_teacher, told)",
        "2024-03-05 16:00 KC-2024-0001 张三 A7.1-visit (A7.1) round 1 (notice ahead), owner "
        "class_teacher, due Wed 03-06 18:00 -> 李老师 (class_teacher)",
        # A7.2 is the school lead's; 控辍专干 never joined: the principal has it at once
        "2024-03-07 08:00 KC-2024-0001 张三 A7.2 (A7.2) unreachable, owner school_lead, "
        "due Thu 03-07 18:00 -> 王校长 (principal, unreachable)",
    ]
    for line in expected:
        assert line in lines, out
    assert lines.index(expected[0]) < lines.index(expected[-1])
    # the bureau's staff never joined either: on day 7 nobody above the school can be told
    assert "2024-03-11 08:00 KC-2024-0001 张三 A7.3-mark (A7.3)" in out
    assert "A7.3-joint (A7.3) round 1 (notice ahead), owner bureau_staff" in out
    assert "-> nobody can be told" in out
    assert "2024-03-12" not in out  # seven days from Monday 09:00
    # --days 1 stops on Tuesday
    main(["--db", str(db), "sweep", "--dry-run", "--days", "1", "--now", "2024-03-04T09:00"])
    assert "2024-03-06" not in capsys.readouterr().out


def test_a_bad_time_is_a_usage_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "sweep", "--now", "yesterday"]) == 2
    assert "2024-03-12T09:00" in capsys.readouterr().err


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotApi]:
    """The fake Bot API on its own event loop in a thread (the CLI runs its own loop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeBotApi(token=TOKEN, bot_username="kcbx_bot")
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    monkeypatch.setenv("KCBX_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("KCBX_TELEGRAM_API_URL", fake.base_url)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_sweep_now_with_a_token_delivers(
    db: Path, telegram: FakeBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    teacher = telegram.user(22, started=True)
    telegram.user(20, started=True)
    assert main(["--db", str(db), "sweep", "--now", "2024-03-04T13:00"]) == 0
    out = capsys.readouterr().out
    assert "delivered: 1 sent" in out
    [reminder] = teacher.messages
    assert "KC-2024-0001" in reminder.plain and "张三" in reminder.plain
    assert asyncio.run(_state(db))[0] == {"sent": 1}


def test_policy_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[ladder]\npersuasion_day = 2\n", encoding="utf-8")
    assert main(["--db", str(tmp_path / "x.db"), "policy", "check", str(good)]) == 0
    assert "【第七条】第2天：学校组织力量劝返" in capsys.readouterr().out  # A7.2
    bad = tmp_path / "bad.toml"
    bad.write_text('[ladder]\npersuasion_day = 9\nday_counting = "weeks"\n', encoding="utf-8")
    assert main(["policy", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "ladder.persuasion_day" in out and "ladder.day_counting" in out
    assert main(["policy", "check", str(tmp_path / "missing.toml")]) == 2


async def _back(db: Path) -> None:
    """张三 back at school on Monday 4 March at 14:00 (A7.6)."""
    services = await Services.open(Config(db_path=str(db)), FakeClock(T0))
    try:
        [case] = await services.cases.open_cases()
        back = datetime(2024, 3, 4, 14, tzinfo=ZoneInfo("Asia/Shanghai"))
        await services.cases.record_action(
            case.id, kind="returned", actor_id=None, at=back, now=back, rule="A7.6"
        )
        await services.cases.close(case.id, status="returned", now=back, actor="cli:test")
    finally:
        await services.close()


def test_dry_run_lists_the_check_ins_after_a_return(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A4.2: the week's check-in, told the working day before, the class teacher's; undone,
    escalated once, to the school lead's role (控辍专干 never joined: the principal)."""
    asyncio.run(_back(db))
    code = main(["--db", str(db), "sweep", "--dry-run", "--days", "7", "--now", "2024-03-08T09:00"])
    assert code == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert (
        "2024-03-08 16:00 KC-2024-0001 张三 A4.2-7 (A4.2) round 1 (notice ahead), owner "
        "class_teacher, due Mon 03-11 18:00 -> 李老师 (class_teacher)"
    ) in lines
    assert (
        "2024-03-12 12:00 KC-2024-0001 张三 A4.2-7 (A4.2) round 2, owner class_teacher, "
        "due Mon 03-11 18:00 -> 李老师 (class_teacher)"
    ) in lines
    ahead = [line for line in lines if "A4.2" in line]
    assert len(ahead) == 3 and "escalated" in ahead[2], ahead
    assert not [line for line in lines if "A7." in line]  # the ladder ended with the return


async def _saturday(db: Path) -> None:
    """李四 reported on Saturday 9 March at 10:00."""
    services = await Services.open(Config(db_path=str(db)), FakeClock(T0))
    try:
        student = await services.db.fetchval("SELECT id FROM students WHERE name = '李四'")
        saturday = datetime(2024, 3, 9, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
        await services.cases.open_case(
            student_id=int(student),
            reported_by=None,
            absent_since=date(2024, 3, 9),
            cause="unknown",
            guardian_contact=None,
            note=None,
            now=saturday,
            year=2024,
            actor="cli:test",
        )
    finally:
        await services.close()


def test_dry_run_shows_a_weekend_report_moved_to_the_working_day(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_saturday(db))
    code = main(["--db", str(db), "sweep", "--dry-run", "--days", "3", "--now", "2024-03-09T10:00"])
    assert code == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    call = [line for line in lines if "KC-2024-0002" in line and "A7.1-call" in line]
    assert call[0].startswith("2024-03-11 11:00 KC-2024-0002 李四 A7.1-call (A7.1) round 1")
    assert "due Mon 03-11 12:00, opened Sat 03-09 10:00: moved to the working day" in call[0]
    # nothing on the weekend, not even 张三's overdue steps: they wait for Monday morning
    assert not [line for line in lines if line.startswith(("2024-03-09", "2024-03-10"))]
