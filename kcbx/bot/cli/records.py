"""The operators' record-keeping commands: the audit log, backups, restore, retention.

kcbx audit verify                 walk the hash chain; name the first row that does not match
kcbx audit --student 学籍号        who did or saw what of one student
kcbx audit --person 手机           what one person did or saw
kcbx backup DIR [--keep N]        a consistent, verified copy while the bot runs
kcbx restore FILE [--force]       put a backup in place (refuses a live database)
kcbx retention [--dry-run]        reduce closed cases as the policy's [retention] says
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from kcbx.bot.domain.clock import SystemClock
from kcbx.bot.domain.retention import KINDS
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.instance import describe_holder, live_holder
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.audit import NotFound, person_history, student_history, verify_log
from kcbx.bot.services.retention import apply_retention
from kcbx.storage.db import Database, is_postgres
from kcbx.storage.records.backup import BackupError, backup_copy, restore_copy

EXIT_USAGE = 2

Work = Callable[[Services], Awaitable[int]]
Runner = Callable[[Config, Work], int]


def audit(args: argparse.Namespace, config: Config, run: Runner) -> int:
    if args.what == "verify":

        async def check(services: Services) -> int:
            verdict = await verify_log(services)
            if verdict.ok:
                print(f"audit log intact: {verdict.rows} rows, head {verdict.head_hash}")
                return 0
            where = f"row {verdict.bad_id}" if verdict.bad_id is not None else "the head"
            print(f"audit log broken at {where}: {verdict.reason} ({verdict.rows} rows read)")
            return 1

        return run(config, check)
    if not args.student and not args.person:
        print("give verify, --student REGISTRY_NO or --person PHONE")
        return EXIT_USAGE

    async def show(services: Services) -> int:
        try:
            if args.student:
                history = await student_history(services, args.student)
            else:
                history = await person_history(services, args.person)
        except NotFound as exc:
            print(f"kcbx: nobody found for {exc}")
            return 1
        print(history.subject)
        for line in history.lines:
            who = f"{line.person.name} ({line.person.role.value})" if line.person else line.actor
            what = f"{line.entity} {line.entity_id}" if line.entity_id else line.entity
            when = line.at.astimezone(config.tz)
            print(f"{when:%Y-%m-%d %H:%M}  {who}  {line.action}  {what}")
        return 0

    return run(config, show)


_PG_BACKUP = (
    "kcbx backup and restore copy a SQLite file; for PostgreSQL use pg_dump and pg_restore"
    " (README: The database)"
)


def backup(args: argparse.Namespace, config: Config, run: Runner) -> int:
    if is_postgres(config.db_path):
        print(f"kcbx: {_PG_BACKUP}")
        return 2
    try:
        made = backup_copy(
            Path(config.db_path), Path(args.dir), now=SystemClock().now(), keep=args.keep
        )
    except BackupError as exc:
        print(f"kcbx: {exc}")
        return 1
    total = sum(made.tables.values())
    print(f"{made.path}: verified, {len(made.tables)} tables, {total} rows")
    for old in made.removed:
        print(f"removed {old} (keeping the last {args.keep})")
    return 0


def restore(args: argparse.Namespace, config: Config, run: Runner) -> int:
    if is_postgres(config.db_path):
        print(f"kcbx: {_PG_BACKUP}")
        return 2
    running = Path(config.db_path).exists() and asyncio.run(_running_on(config.db_path))
    if running:
        print(f"kcbx: {running}")
        return EXIT_USAGE
    try:
        counts = restore_copy(Path(args.file), Path(config.db_path), force=args.force)
    except BackupError as exc:
        print(f"kcbx: {exc}")
        return 1
    print(f"{config.db_path}: restored from {args.file}, {sum(counts.values())} rows")
    return 0


async def _running_on(path: str) -> str:
    """One line if a live instance holds the database's lease (even --force must not pull
    the file from under a running bot); empty otherwise. ``path`` exists."""
    db = await Database.open(path, migrate=False)
    try:
        if "leases" not in await db.tables():
            return ""
        lease = await live_holder(db)
    finally:
        await db.close()
    if lease is None:
        return ""
    return (
        f"{describe_holder(lease.holder)} on {lease.host} (pid {lease.pid}) holds {path}:"
        " stop it before restoring"
    )


def retention(args: argparse.Namespace, config: Config, run: Runner) -> int:
    async def work(services: Services) -> int:
        report = await apply_retention(services, actor=args.actor, dry_run=args.dry_run)
        verb = "would reduce" if args.dry_run else "reduced"
        for kind in KINDS:
            print(
                f"{kind}: {verb} {report.cases(kind)} closed cases"
                f" ({report.files(kind)} files, {report.size(kind)} bytes,"
                f" {report.fields(kind)} texts)"
            )
        return 0

    return run(config, work)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit", help="the audit log: verify it, or one student's or person's history"
    )
    p.add_argument("what", nargs="?", choices=["verify"], help="verify the hash chain")
    p.add_argument("--student", help="a student's registry number (学籍号)")
    p.add_argument("--person", help="a person's phone")
    p = sub.add_parser("backup", help="a consistent, verified copy of the database")
    p.add_argument("dir", help="the folder of the copies")
    p.add_argument("--keep", type=int, default=7, help="how many copies to keep (default 7)")
    p = sub.add_parser("restore", help="put a backup in place of the database")
    p.add_argument("file", help="a copy made by kcbx backup")
    p.add_argument("--force", action="store_true", help="overwrite an existing database")
    p = sub.add_parser("retention", help="reduce closed cases as the policy's [retention] says")
    p.add_argument("--dry-run", action="store_true", help="say what would go; write nothing")
    p.add_argument("--actor", default="system", help=argparse.SUPPRESS)


COMMANDS = {"audit": audit, "backup": backup, "restore": restore, "retention": retention}


def dispatch(args: argparse.Namespace, config: Config, run: Runner) -> int:
    return COMMANDS[args.command](args, config, run)
