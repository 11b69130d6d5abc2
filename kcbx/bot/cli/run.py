"""What `kcbx run` checks before it starts: that it may write the database, and that no
other instance runs on it (:mod:`kcbx.bot.runtime.instance`). Either problem is one line
for the operator and exit 2, before anything talks to Telegram."""

from __future__ import annotations

from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.instance import InstanceLease, LeaseHeld
from kcbx.storage.db import Database, cannot_write


class Refused(Exception):
    """`kcbx run` must not start; the message is one line."""


def unwritable_line(path: str, error: BaseException) -> str:
    return (
        f"the database {path} cannot be written ({error}): make the file and its folder "
        "writable for this user, or free disk space"
    )


async def take_database(config: Config) -> str:
    """Open the database (applying migrations) and take its lease for this process; the
    holder id, which the application keeps. Raises Refused."""
    path = config.db_path
    try:
        db = await Database.open(path, config.durability)
    except Exception as exc:
        if cannot_write(exc):
            raise Refused(unwritable_line(path, exc)) from exc
        raise
    try:
        lease = InstanceLease.of_this_process(db, "run")
        await lease.acquire()
        return lease.holder
    except LeaseHeld as held:
        raise Refused(held.line()) from held
    except Exception as exc:
        if cannot_write(exc):
            raise Refused(unwritable_line(path, exc)) from exc
        raise
    finally:
        await db.close()


__all__ = ["Refused", "take_database", "unwritable_line"]
