"""A confirmed report is on disk when the teacher is told it is saved: SQLite synchronous=FULL
by default, NORMAL only when the county asks for it (the durability setting)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.runtime.config import Config, ConfigError, load_config
from kcbx.bot.runtime.services import Services
from kcbx.handlers.persistence import DatabasePersistence
from kcbx.storage.db import Database

T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)
FULL, NORMAL = 2, 1  # PRAGMA synchronous's answers


# SQLite's own durability and write refusal (PRAGMA synchronous, query_only, file modes)
pytestmark = pytest.mark.single_backend


async def test_the_database_syncs_every_commit_by_default(tmp_path: Path) -> None:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T0))
    try:
        assert (await services.db.fetchone("PRAGMA synchronous"))[0] == FULL
        assert (await services.db.fetchone("PRAGMA journal_mode"))[0] == "wal"
    finally:
        await services.close()


async def test_normal_durability_is_a_choice(tmp_path: Path) -> None:
    config = Config(db_path=str(tmp_path / "k.db"), durability="normal")
    services = await Services.open(config, FakeClock(T0))
    try:
        assert (await services.db.fetchone("PRAGMA synchronous"))[0] == NORMAL
    finally:
        await services.close()
    db = await Database.open(tmp_path / "k.db")
    try:
        assert (await db.fetchone("PRAGMA synchronous"))[0] == FULL
    finally:
        await db.close()


async def test_conversation_steps_are_as_durable_as_the_rest(tmp_path: Path) -> None:
    persistence = DatabasePersistence(
        Config(db_path=str(tmp_path / "k.db")), FakeClock(T0), max_age=timedelta(hours=1)
    )
    repo = await persistence._repo()
    try:
        assert (await repo.db.fetchone("PRAGMA synchronous"))[0] == FULL
    finally:
        await persistence.flush()


def test_durability_is_read_from_the_environment_and_checked(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    missing.write_text("", encoding="utf-8")
    assert load_config(missing, env={}).durability == "full"
    assert load_config(missing, env={"KCBX_DURABILITY": "normal"}).durability == "normal"
    with pytest.raises(ConfigError, match="durability must be full or normal"):
        load_config(missing, env={"KCBX_DURABILITY": "off"})
