"""What `kcbx run` checks before it starts: that it may write the database, and that no
other instance runs on it (:mod:`kcbx.bot.runtime.instance`). Either problem is one line
for the operator and exit 2, before anything talks to Telegram; except that on PostgreSQL,
which several machines share, a second instance stands by until the lease is free."""

from __future__ import annotations

import logging

from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.instance import LeaseHeld, configured_lease
from kcbx.storage.db import POSTGRESQL, Database, cannot_write

log = logging.getLogger(__name__)


class Refused(Exception):
    """`kcbx run` must not start; the message is one line."""


def unwritable_line(path: str, error: BaseException) -> str:
    return (
        f"the database {path} cannot be written ({error}): make the file and its folder "
        "writable for this user, or free disk space"
    )


async def take_database(config: Config) -> str:
    """Open the database (applying migrations) and take its lease for this process; the
    holder id, which the application keeps. Raises Refused. On PostgreSQL a lease held by
    another instance is waited for (a standby): nothing talks to Telegram meanwhile."""
    path = config.db_path
    try:
        db = await Database.open(path, config.durability)
    except Exception as exc:
        if cannot_write(exc):
            raise Refused(unwritable_line(path, exc)) from exc
        raise
    try:
        lease = configured_lease(db, config, "run")
        try:
            await lease.acquire()
        except LeaseHeld as held:
            if db.dialect != POSTGRESQL:
                raise Refused(held.line()) from held
            log.info(
                "standing by: %s; checking the lease every %g s, taking over when it expires",
                held.line().split(";")[0],
                lease.standby_seconds,
            )
            await lease.stand_by()
            log.info("took the database's lease over (%s): starting", lease.holder)
        return lease.holder
    except Exception as exc:
        if cannot_write(exc):
            raise Refused(unwritable_line(path, exc)) from exc
        raise
    finally:
        await db.close()


__all__ = ["Refused", "take_database", "unwritable_line"]
