"""The capability table: which commands each role may use, in which language, and the
keyboard. The menus and the permission checks are both read from it."""

from __future__ import annotations

from dataclasses import dataclass

from kcbx.bot.domain.i18n import LANGUAGES, N_, Translate, translator
from kcbx.bot.domain.roles import DISTRICT_ROLES, Role

ALL = frozenset(Role)

# Who may do what: each set is written once, here. The command menus (/help, setMyCommands,
# the main keyboard) list a command for exactly these roles, and the handlers and services
# check the same set with :func:`may` before anything is shown or written.
ADMINS = frozenset({Role.ADMIN})
# Class teachers (their classes), principals and leads (their school) report absences (A7.1)
# and confirm returns (A7.6).
SCHOOL_STAFF = frozenset({Role.CLASS_TEACHER, Role.PRINCIPAL, Role.SCHOOL_LEAD})
NOTICE_ISSUERS = frozenset({Role.BUREAU_STAFF, Role.TOWNSHIP_LEADER, Role.TOWNSHIP_CADRE})
# What was done on a case: A7.1 the school, A5.1 the 三包 cadres, A7.3 the bureau and the
# township, A6 the departments.
VISIT_RECORDERS = SCHOOL_STAFF | {
    Role.GROUP_CADRE,
    Role.VILLAGE_CADRE,
    Role.TOWNSHIP_CADRE,
    Role.TOWNSHIP_LEADER,
    Role.BUREAU_STAFF,
    Role.DEPARTMENT_LIAISON,
}
LIAISONS = frozenset({Role.DEPARTMENT_LIAISON})
COVERAGE_VIEWERS = DISTRICT_ROLES | {Role.TOWNSHIP_LEADER}
# A3: the school proposes an exemption, the bureau confirms it (or records it itself).
EXEMPTERS = frozenset({Role.BUREAU_STAFF, Role.PRINCIPAL, Role.SCHOOL_LEAD})
TRANSFERRERS = frozenset({Role.BUREAU_STAFF}) | SCHOOL_STAFF
# Leaders of a district, township or school: the summary and the ledger of their scope.
LEADERS = DISTRICT_ROLES | {Role.TOWNSHIP_LEADER, Role.PRINCIPAL, Role.SCHOOL_LEAD}
ACCOUNTABLE_VIEWERS = DISTRICT_ROLES  # A8


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
    Command("invite", N_("Invite a person: /invite ROLE UNIT [NAME]"), ADMINS),
    Command("revoke", N_("Revoke a person: /revoke PHONE"), ADMINS),
    Command("import", N_("Import a roster: send the .xlsx or .csv file"), ADMINS),
    Command("audit", N_("Who did or saw what of a student: /audit ID"), ADMINS),
    Command(
        "report",
        N_("Report a student absent without reason"),
        SCHOOL_STAFF,
        button=N_("Report absence"),
    ),
    Command("cases", N_("My open cases and their deadlines"), button=N_("My cases")),
    Command("find", N_("Find a student or case: /find NAME, initials or case number")),
    Command(  # A7.4, A7.5
        "notices",
        N_("Notices to enrol and orders to correct: issue, delivery, documents"),
        NOTICE_ISSUERS,
    ),
    Command(  # what was done on a case (A7.1, A7.2, A5.1, A6)
        "visit",
        N_("Record a call, a home visit or an action on a case"),
        VISIT_RECORDERS,
        button=N_("Record a visit"),
    ),
    Command(  # a department's referrals (A6, A9)
        "inbox", N_("Cases referred to my department"), LIAISONS, button=N_("Referrals")
    ),
    Command(  # the 三包 chain's gaps and loads (A5.1)
        "coverage",
        N_("Contact-duty coverage: households without a cadre, cadres with too many"),
        COVERAGE_VIEWERS,
    ),
    Command("exempt", N_("Close a case as exempt (Article 3), with evidence"), EXEMPTERS),
    Command("transfer", N_("Close a case: the child is enrolled at another school"), TRANSFERRERS),
    Command(  # leaders' summary of their scope, with drill-down and chart
        "summary", N_("Summary of my district, township or school"), LEADERS, button=N_("Summary")
    ),
    Command(  # the ledger (台账) as Excel
        "export", N_("The dropout ledger of my scope as an Excel file"), LEADERS
    ),
    Command(  # A8, the school year so far
        "accountability",
        N_("Accountability flags (Article 8) of the school year"),
        ACCOUNTABLE_VIEWERS,
    ),
]
_BY_NAME = {c.name: c for c in COMMANDS}


def roles_of(command: str) -> frozenset[Role]:
    """The roles that may use ``command``."""
    return _BY_NAME[command].roles


def may(role: Role | None, command: str) -> bool:
    """Whether ``role`` may use ``command`` (the menus show it to exactly these roles)."""
    return role is not None and role in _BY_NAME[command].roles


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
