"""A database that cannot be written stops the bot loudly, not silently.

While writes fail (a read-only file or folder, a full disk, an I/O error) nothing is saved
and no reminder goes out. :class:`WriteAlarm` is told of every such failure (jobs, the
heartbeat, the handlers' error handler) and:

- logs it as one ERROR line at most once a minute (with the traceback the first time);
- tells the administrators in chat once per outage, sent directly through the transport
  (the outbox is in the database that cannot be written);
- when a write works again (the lease's heartbeat is one every few seconds), logs that and
  tells the administrators it is over.

Users who confirm something meanwhile are told by the error handler that it was not saved.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from kcbx.bot.domain.i18n import N_, translator
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.instance import wall_clock
from kcbx.bot.runtime.services import Services
from kcbx.storage.db import cannot_write

log = logging.getLogger(__name__)

LOG_EVERY = timedelta(minutes=1)

# (chat id, text) -> sent; raises on failure
Notify = Callable[[int, str], Awaitable[None]]


DOWN = N_(
    "⚠️ The database cannot be written ({error}). Nothing new is saved and no reminder goes "
    "out until this is fixed: free disk space, or make the database file and its folder "
    "writable for the bot. I keep trying."
)
UP = N_("✅ The database can be written again; reminders resume.")


class WriteAlarm:
    """Counts write failures; says so in the log (rate limited) and to the administrators."""

    def __init__(
        self,
        services: Services,
        notify: Notify | None = None,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.services = services
        self.notify = notify
        self.clock = clock
        self.down_since: datetime | None = None
        self.failures = 0
        self._logged_at: datetime | None = None

    @staticmethod
    def concerns(error: BaseException | None) -> bool:
        """Is this error the database refusing writes?"""
        return error is not None and cannot_write(error)

    async def failed(self, error: BaseException, where: str = "") -> None:
        """A write failed because the database cannot be written."""
        now = self.clock()
        self.failures += 1
        first = self.down_since is None
        if first:
            self.down_since = now
        if self._logged_at is None or now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            log.error(
                "the database %s cannot be written (%s%s): nothing is saved, no reminder goes "
                "out; %d failed writes so far",
                self.services.config.db_path,
                error,
                f", in {where}" if where else "",
                self.failures,
                exc_info=error if first else None,
            )
        if first:
            await self._tell_admins(DOWN, error=str(error))

    async def succeeded(self) -> None:
        """A write worked: if the database was down, it is back."""
        if self.down_since is None:
            return
        log.warning(
            "the database %s can be written again, after %d failed writes",
            self.services.config.db_path,
            self.failures,
        )
        self.down_since, self.failures, self._logged_at = None, 0, None
        await self._tell_admins(UP)

    async def _tell_admins(self, msgid: str, **values: str) -> None:
        if self.notify is None:
            return
        try:
            admins = await self.services.directory.reachable_people([Role.ADMIN])
        except Exception:  # reading may fail too (a vanished file): the log has said it
            log.warning("could not read who the administrators are", exc_info=True)
            return
        for admin in admins:
            if admin.chat_id is None:
                continue
            t = translator(admin.lang or self.services.config.default_language)
            try:
                await self.notify(admin.chat_id, t(msgid).format(**values))
            except Exception as exc:  # the channel may be down as well: the log has said it
                log.warning("could not tell administrator %s: %s", admin.id, exc)


__all__ = ["DOWN", "LOG_EVERY", "UP", "WriteAlarm"]
