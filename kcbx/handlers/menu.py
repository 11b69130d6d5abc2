"""Publishing each person's command menu (setMyCommands per language and chat scope)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from kcbx.bot.domain.capabilities import commands_for
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.roles import Role

log = logging.getLogger(__name__)


def menu(role: Role | None, lang: str) -> list[BotCommand]:
    t = translator(lang)
    return [BotCommand(c.name, t(c.description)) for c in commands_for(role)]


async def publish_default_menus(bot: Bot) -> None:
    """Strangers see /start and /help, in Chinese by default and in English for 'en' users."""
    await bot.set_my_commands(menu(None, "zh_CN"), scope=BotCommandScopeDefault())
    await bot.set_my_commands(
        menu(None, "zh_CN"), scope=BotCommandScopeDefault(), language_code="zh"
    )
    await bot.set_my_commands(menu(None, "en"), scope=BotCommandScopeDefault(), language_code="en")


async def publish_person_menu(bot: Bot, chat_id: int, role: Role, lang: str) -> None:
    """A bound person's private chat shows their role's commands in their language."""
    try:
        await bot.set_my_commands(menu(role, lang), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # the menu is a convenience: never fail the conversation
        log.warning("could not publish the menu for chat %s: %s", chat_id, exc)
