"""Shared fixtures: a started bot on a fake Bot API server with a controlled clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with BotHarness(tmp_path / "kcbx.db", T0) as h:
        yield h
