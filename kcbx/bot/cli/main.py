"""The `kcbx` command: run the bot, and the operators' offline tools."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from kcbx.bot.cli import records
from kcbx.bot.domain.clock import Clock, FakeClock
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.policy.reading import PolicyError, load_policy
from kcbx.bot.domain.policy.showing import check_policy_file
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role, parse_role
from kcbx.bot.engine.wiring import register_features
from kcbx.bot.runtime.config import Config, ConfigError, load_config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.access import AccessError, create_invitation, revoke_person

EXIT_USAGE = 2


def cli_actor() -> str:
    """Offline actions are audited under the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli:unknown"


def _run(args: argparse.Namespace, config: Config) -> int:
    from kcbx.bot.cli.run import Refused, take_database
    from kcbx.handlers.app import build_application

    config.require_token()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        holder = asyncio.run(take_database(config))
    except Refused as exc:
        print(f"kcbx: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # stopped while standing by
        return 0
    app = build_application(config, holder=holder)
    updates = ["message", "callback_query", "my_chat_member"]
    if not args.webhook:
        app.run_polling(allowed_updates=updates)
        return 0
    # Behind a reverse proxy: Telegram posts to the public https URL, the proxy passes the
    # request to the listener; the secret token proves that a request came from Telegram.
    url = urlsplit(args.webhook)
    host, _, port = (args.listen or "127.0.0.1:8443").rpartition(":")
    if url.scheme != "https" or not port.isdigit():
        print("kcbx: --webhook takes an https URL and --listen HOST:PORT", file=sys.stderr)
        return EXIT_USAGE
    app.run_webhook(
        listen=host or "127.0.0.1",
        port=int(port),
        url_path=url.path.lstrip("/"),
        webhook_url=args.webhook,
        secret_token=config.webhook_secret or secrets.token_urlsafe(32),
        allowed_updates=updates,
    )
    return 0


async def _with_services(
    config: Config, work: Callable[[Services], Awaitable[int]], clock: Clock | None = None
) -> int:
    services = await Services.open(config, clock)
    register_features(services)
    try:
        return await work(services)
    finally:
        await services.close()


def _invite(args: argparse.Namespace, config: Config) -> int:
    role = parse_role(args.role)
    if role is None:
        print(f"unknown role {args.role!r}; one of: {', '.join(r.value for r in Role)}")
        return EXIT_USAGE

    async def work(services: Services) -> int:
        try:
            invitation = await create_invitation(
                services,
                role=role,
                unit_text=args.unit or "",
                name=args.name,
                phone=args.phone,
                actor=cli_actor(),
            )
        except AccessError as exc:
            print(exc.render(translator(config.default_language)))
            return 1
        print(f"{invitation.person.name or '-'} ({role.value}), expires {invitation.expires_at}")
        print(invitation.link)
        if not config.bot_username:
            print(f"(set KCBX_BOT_USERNAME for a full link; in chat: /start {invitation.code})")
        return 0

    if not args.unit and not args.phone:
        print("give --unit UNIT (and --name NAME), or --phone PHONE of an imported person")
        return EXIT_USAGE
    return asyncio.run(_with_services(config, work))


def _revoke(args: argparse.Namespace, config: Config) -> int:
    async def work(services: Services) -> int:
        try:
            person = await revoke_person(services, args.who, actor=cli_actor())
        except AccessError as exc:
            print(exc.render(translator(config.default_language)))
            return 1
        print(f"revoked: {person.name} ({person.role.value})")
        return 0

    return asyncio.run(_with_services(config, work))


def _coverage(args: argparse.Namespace, config: Config) -> int:
    """households with a gap in the 三包 chain, cadres over the limit (A5.1)."""
    from kcbx.bot.services.coverage import UnitNotFound, coverage_of, coverage_root
    from kcbx.bot.texts.coverage import render_coverage

    t = translator(config.default_language)

    async def work(services: Services) -> int:
        try:
            root = await coverage_root(services, args.unit)
        except UnitNotFound as exc:
            print(t("{count} units match {unit}.").format(count=exc.count, unit=exc.text))
            return 1
        view = await coverage_of(services, root)
        lines = render_coverage(
            view.report, view.units, t, scope=view.scope, html=False, households=args.households
        )
        print("\n".join(lines))
        return 0

    return asyncio.run(_with_services(config, work))


def _sweep(args: argparse.Namespace, config: Config) -> int:
    """one sweep as if it were --now, or --dry-run: what fires in --days days."""
    from kcbx.bot.cli.sweep import BadInstant, parse_instant, run_dry_run, run_sweep

    clock = None
    if args.now:
        try:
            clock = FakeClock(parse_instant(args.now, load_policy_of(config)))
        except BadInstant as exc:
            print(f"kcbx: {exc}", file=sys.stderr)
            return EXIT_USAGE

    async def work(services: Services) -> int:
        if args.dry_run:
            return await run_dry_run(services, args.days, print)
        return await run_sweep(services, config, print)

    return asyncio.run(_with_services(config, work, clock))


def _policy(args: argparse.Namespace, config: Config) -> int:
    """`kcbx policy check FILE` prints the effective ladder, or every bad value."""
    from kcbx.bot.roster.vocabulary import check_vocabulary_file

    t = translator(config.default_language)
    code, text = check_policy_file(Path(args.file), t)
    print(text)
    if code != 2:  # a file that cannot be read has said so once
        words_code, words = check_vocabulary_file(Path(args.file), t)
        print(words)
        code = max(code, words_code)
    return code


def _export(args: argparse.Namespace, config: Config) -> int:
    """the ledger (台账) of the district, or of --scope UNIT, as FILE.xlsx."""
    from kcbx.bot.services.exports import ProtectedLedger, protect_ledger
    from kcbx.bot.services.ledger import Ledger, UnknownScope, export_for_unit

    t = translator(config.default_language)
    made: list[tuple[Ledger, ProtectedLedger]] = []

    async def work(services: Services) -> int:
        try:
            ledger = await export_for_unit(services, args.scope, actor=cli_actor(), gettext=t)
        except UnknownScope:
            print(f"kcbx: no single district, township or school called {args.scope!r}")
            return 1
        protected = await protect_ledger(
            services,
            ledger,
            cli_actor(),
            gettext=t,
            lang=config.default_language,
            password=args.password,
        )
        made.append((ledger, protected))
        return 0

    code = asyncio.run(_with_services(config, work))
    if code == 0:
        ledger, protected = made[0]
        Path(args.file).write_bytes(protected.data)
        print(
            f"{args.file}: {ledger.dropouts} dropouts, {ledger.suspected} suspected, "
            f"{ledger.actions} actions, {ledger.flags} A8 flags (recorded in the audit log)"
        )
        if not args.password:
            print(f"password: {protected.password}  (give it apart from the file)")
    return code


def load_policy_of(config: Config) -> Policy:
    return load_policy(Path(config.policy_path) if config.policy_path else None)


def _import(args: argparse.Namespace, config: Config) -> int:
    """`kcbx import FILE`: import a roster file, or with --check only check it (writes nothing)."""
    from kcbx.bot.roster.importer import import_roster
    from kcbx.bot.roster.report import render_report

    path = Path(args.file)
    if not path.is_file():
        print(f"kcbx: no such file: {path}", file=sys.stderr)
        return EXIT_USAGE
    bar = TerminalProgress()

    async def work(services: Services) -> int:
        report = await import_roster(
            services.db,
            path,
            path.name,
            actor=cli_actor(),
            skip_invalid=args.skip_invalid,
            check=args.check,
            progress=bar,
            clock=services.clock,
            timezone=config.tz,
            max_bytes=config.max_upload_bytes,
            vocabulary=services.vocabulary,
            policy=services.policy,
        )
        bar.finish()
        for line in render_report(report, translator(config.default_language)):
            print(line)
        return 0 if (report.written or report.checked) and not report.errors else 1

    return asyncio.run(_with_services(config, work))


class TerminalProgress:
    """A progress bar on stderr when it is a terminal; silent in pipes and CI."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty() or total <= 0:
            return
        width = 30
        filled = min(width, width * done // total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _demo(args: argparse.Namespace, config: Config) -> int:
    from datetime import datetime

    from kcbx.demo.story import run_demo

    out = Path(args.out or f"kcbx-demo-{datetime.now().astimezone():%Y%m%d-%H%M%S}")
    lang = "en" if args.lang.lower().startswith("en") else "zh_CN"
    t = translator(lang)
    artefacts = asyncio.run(
        run_demo(
            out=out,
            students=args.students,
            lang=lang,
            keep=args.keep,
            echo=sys.stdout if not args.quiet else None,
        )
    )
    print()
    print(t("Artefacts in {folder}:").format(folder=out.resolve()))
    for name, path in artefacts.items():
        print(f"  {name}: {path}")
    if args.keep:
        print(
            t("Run the bot on this district: KCBX_DB={db} kcbx run").format(
                db=artefacts.get("database")
            )
        )
    return 0


def _accountability(args: argparse.Namespace, config: Config) -> int:
    """the school year's A8 findings (年终考核)."""
    from kcbx.bot.cli.accountability import print_year

    lang = config.default_language
    return asyncio.run(_with_services(config, lambda s: print_year(s, args.year, lang)))


def _leader_rank(args: argparse.Namespace, config: Config) -> int:
    """a leader's rank: chief (主要领导) or deputy (分管领导), A8."""
    from kcbx.bot.cli.accountability import set_rank

    return asyncio.run(
        _with_services(config, lambda s: set_rank(s, args.phone, args.rank, cli_actor()))
    )


def _db(args: argparse.Namespace, config: Config) -> int:
    """`kcbx db migrate` (the configured database), `kcbx db copy SQLITE_FILE postgresql://`."""
    from kcbx.bot.cli.db import copy_command, migrate_command

    if args.db_command == "migrate":
        return migrate_command(config.db_path, print)
    return copy_command(args.source, args.target, print)


COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "run": _run,
    "invite": _invite,
    "revoke": _revoke,
    "import": _import,
    "demo": _demo,
    "coverage": _coverage,
    "sweep": _sweep,
    "policy": _policy,
    "export": _export,
    "accountability": _accountability,
    "leader-rank": _leader_rank,
    "db": _db,
}


def _records(args: argparse.Namespace, config: Config) -> int:
    return records.dispatch(args, config, lambda c, work: asyncio.run(_with_services(c, work)))


COMMANDS.update(dict.fromkeys(records.COMMANDS, _records))


def _doctor(args: argparse.Namespace, config: Config) -> int:
    """`kcbx doctor [--repair]`: the rollups against a recount (kcbx/bot/cli/doctor.py)."""
    from kcbx.bot.cli.doctor import doctor

    return doctor(args, config, lambda c, w: asyncio.run(_with_services(c, w)), cli_actor())


COMMANDS["doctor"] = _doctor


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kcbx", description="kcbx 控辍保学 bot")
    parser.add_argument("--config", help="path of kcbx.toml (default ./kcbx.toml if present)")
    parser.add_argument(
        "--db", help="a database file or postgresql://... (default $KCBX_DB or ./kcbx.db)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the bot (needs KCBX_TELEGRAM_TOKEN)")
    p.add_argument("--webhook", help="receive updates at this https URL instead of polling")
    p.add_argument("--listen", help="with --webhook: the local HOST:PORT (default 127.0.0.1:8443)")
    p = sub.add_parser("invite", help="make a one-time invitation link")
    p.add_argument("--role", required=True, help="role code, e.g. class_teacher")
    p.add_argument("--unit", help="unit name or path, e.g. 滨河镇/新墩村")
    p.add_argument("--name", help="the person's name")
    p.add_argument("--phone", help="the phone of a person imported from the roster")
    p = sub.add_parser("import", help="import a roster (.xlsx or .csv: units, staff, students)")
    p.add_argument("file")
    p.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows, list the others"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="check the file and say what it would change; write nothing",
    )
    p = sub.add_parser("demo", help="play a district's month offline, in about a minute")
    p.add_argument("--lang", default="zh_CN", help="zh_CN (default) or en")
    p.add_argument("--students", type=int, default=1200, help="size of the district")
    p.add_argument("--out", help="output folder (default ./kcbx-demo-<time>)")
    p.add_argument("--keep", action="store_true", help="keep the database for kcbx run")
    p.add_argument("--quiet", action="store_true", help="do not print the transcript")
    p = sub.add_parser("revoke", help="lock a person out")
    p.add_argument("who", help="phone or person id")
    p = sub.add_parser("coverage", help="三包 chain: households with a gap, cadres over the limit")
    p.add_argument("--unit", help="a township, village or group (name or path); default: all")
    p.add_argument("--households", action="store_true", help="list each household with a gap")
    p = sub.add_parser("sweep", help="one sweep of the ladder now, or --dry-run the coming days")
    p.add_argument("--now", help="sweep as if it were this time, e.g. 2024-03-12T09:00")
    p.add_argument("--dry-run", action="store_true", help="list what will fire; write nothing")
    p.add_argument("--days", type=float, default=7, help="days the dry run looks ahead")
    p = sub.add_parser("export", help="the dropout ledger (台账) as an Excel file")
    p.add_argument("file", help="the .xlsx file to write")
    p.add_argument("--scope", help="a district, township or school (name or path)")
    p.add_argument("--password", help="encrypt with this password (default: a new one, printed)")
    records.add_parsers(sub)
    p = sub.add_parser("doctor", help="check the summaries' rollups against a recount")
    p.add_argument("--repair", action="store_true", help="write the recount (audited)")
    p = sub.add_parser("accountability", help="the school year's A8 findings (年终考核)")
    p.add_argument("--year", help="the school year, e.g. 2023-2024 (default: this one)")
    p = sub.add_parser("leader-rank", help="main leader (chief) or leader in charge (deputy)")
    p.add_argument("phone", help="the leader's phone")
    p.add_argument("rank", help="chief, deputy or none")
    p = sub.add_parser("policy", help="the policy file (the ladder's numbers)")
    p.add_subparsers(dest="policy_command", required=True).add_parser(
        "check", help="validate FILE and print the effective ladder"
    ).add_argument("file", help="a policy TOML file")
    db = sub.add_parser("db", help="the database: migrate it, or copy a file into PostgreSQL")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("migrate", help="apply the pending migrations to --db / $KCBX_DB")
    p = db_sub.add_parser(
        "copy", help="copy a SQLite file into an empty PostgreSQL database, verified by counts"
    )
    p.add_argument("source", metavar="SQLITE_FILE")
    p.add_argument("target", metavar="POSTGRESQL_URL", help="postgresql://user@host/name")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, db_path=args.db)
    except ConfigError as exc:
        print(f"kcbx: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args, config)
    except ConfigError as exc:
        print(f"kcbx: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PolicyError as exc:
        print(f"kcbx: policy: {exc.render(translator(config.default_language))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from kcbx.bot.cli.run import unwritable_line
        from kcbx.storage.db import cannot_write, not_a_database

        if not_a_database(exc):
            print(f"kcbx: {config.db_path} is not a kcbx database ({exc})", file=sys.stderr)
            return EXIT_USAGE
        if not cannot_write(exc):
            raise
        print(f"kcbx: {unwritable_line(config.db_path, exc)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
