"""Use cases: report, visit, close, notices, referrals, summaries, A8, coverage. They return
view models (kcbx/bot/texts writes them), never HTML or Telegram objects.

:class:`Problem` is what a person must correct, to be said in their language: the base of
the exceptions the services raise for it (a report's, a visit's, a notice's, an invitation's).
"""

from __future__ import annotations

from datetime import date

from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import Translate


class Problem(Exception):
    """``message`` is a msgid, ``params`` its fields (plain text: the texts escape them)."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def render(self, gettext: Translate, lang: str = "zh_CN") -> str:
        """The message in the person's language, dates written as people read them."""
        params = {
            k: format_date(v, gettext, lang) if isinstance(v, date) else v
            for k, v in self.params.items()
        }
        return gettext(self.message).format(**params)
