"""The capability table is the one list of commands: every command the bot answers has its
entry (so the menus show it to the roles its checks let in), and no menu lists a command the
bot does not answer."""

from __future__ import annotations

from pathlib import Path

from telegram.ext import BaseHandler, CommandHandler, ConversationHandler

from kcbx.bot.domain.capabilities import COMMANDS, STRANGER_COMMANDS
from kcbx.bot.runtime.config import Config
from kcbx.handlers.app import build_application

# Ways in and out that are no feature of their own: nobody needs them in a menu by role.
NOT_IN_THE_TABLE = {"start", "cancel"}


def _commands(handler: BaseHandler) -> set[str]:  # type: ignore[type-arg]
    if isinstance(handler, CommandHandler):
        return set(handler.commands)
    if isinstance(handler, ConversationHandler):
        found: set[str] = set()
        for inner in [*handler.entry_points, *handler.fallbacks]:
            found |= _commands(inner)
        for state in handler.states.values():
            for inner in state:
                found |= _commands(inner)
        return found
    return set()


def test_every_command_the_bot_answers_is_in_the_table(tmp_path: Path) -> None:
    config = Config(telegram_token="123:test", db_path=str(tmp_path / "kcbx.db"))
    app = build_application(config)
    answered = {
        name
        for handlers in app.handlers.values()
        for handler in handlers
        for name in _commands(handler)
    }
    table = {c.name for c in COMMANDS} | {c.name for c in STRANGER_COMMANDS}
    assert answered - NOT_IN_THE_TABLE - table == set()  # answered, but in no menu
    assert table - answered == set()  # in a menu, but nobody answers it
