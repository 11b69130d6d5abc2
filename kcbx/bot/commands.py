"""The command menu: which commands each role sees, in which language, and the keyboard."""

from __future__ import annotations

from dataclasses import dataclass

from kcbx.bot.i18n import LANGUAGES, N_, Translate, translator
from kcbx.bot.roles import Role

ALL = frozenset(Role)


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # msgid
    roles: frozenset[Role] = ALL
    button: str | None = None  # msgid of its main-keyboard label, if it has one


# Order is the order of the menu and of /help. Features add their commands here.
COMMANDS: list[Command] = [
    Command("help", N_("What I can do for you")),
    Command("lang", N_("Switch language (中文 / English)")),
    Command("invite", N_("Invite a person: /invite ROLE UNIT [NAME]"), frozenset({Role.ADMIN})),
    Command("revoke", N_("Revoke a person: /revoke PHONE"), frozenset({Role.ADMIN})),
    Command(  # issue 3: class teachers (their classes), principals and leads (their school)
        "report",
        N_("Report a student absent without reason"),
        frozenset({Role.CLASS_TEACHER, Role.PRINCIPAL, Role.SCHOOL_LEAD}),
        button=N_("Report absence"),
    ),
    Command("cases", N_("My open cases and their deadlines"), button=N_("My cases")),  # issue 3
]

STRANGER_COMMANDS = [Command("start", N_("Start with your invitation link")), COMMANDS[0]]


def commands_for(role: Role | None) -> list[Command]:
    if role is None:
        return STRANGER_COMMANDS
    return [c for c in COMMANDS if role in c.roles]


def keyboard_rows(role: Role, gettext: Translate) -> list[list[str]]:
    """The main reply keyboard: the role's buttons, two a row."""
    labels = [gettext(c.button) for c in commands_for(role) if c.button]
    return [labels[i : i + 2] for i in range(0, len(labels), 2)]


def button_labels(name: str) -> list[str]:
    """A command's keyboard label in every language (to route a pressed button)."""
    for command in COMMANDS:
        if command.name == name and command.button:
            return sorted({translator(lang)(command.button) for lang in LANGUAGES})
    return []
