"""The typed context every handler gets: the services, the person, their language."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from kcbx.bot.domain.i18n import Translate, normalize_language, translator
from kcbx.bot.domain.model import Person
from kcbx.bot.runtime.services import Services

SERVICES_KEY = "kcbx.services"


class KcbxContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with `services`, `person` and `gettext` (PTB's contexttypesbot way)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.person: Person | None = None
        self.lang: str = application.bot_data.get("kcbx.default_language", "zh_CN")

    @property
    def services(self) -> Services:
        services = self.application.bot_data.get(SERVICES_KEY)
        if services is None:
            raise RuntimeError("services are opened in post_init")
        return services

    @property
    def gettext(self) -> Translate:
        return translator(self.lang)

    def use_language(self, code: str | None) -> None:
        self.lang = normalize_language(code, self.lang)
