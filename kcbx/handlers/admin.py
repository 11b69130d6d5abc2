"""Administrators in chat: /invite and /revoke (who gets in)."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from kcbx.bot.domain.i18n import LANGUAGES, translator
from kcbx.bot.domain.roles import ROLE_LABELS, Role, parse_role
from kcbx.bot.importer import import_roster, render_report
from kcbx.bot.services.access import AccessError, create_invitation, revoke_person
from kcbx.bot.texts.paging import pages
from kcbx.handlers.common import deny, inline, is_private, reply, require_person
from kcbx.handlers.context import KcbxContext

PENDING_IMPORT = "kcbx.pending_import"


def role_from_text(text: str) -> Role | None:
    """A role from its code or its label in any language."""
    role = parse_role(text)
    if role is not None:
        return role
    for candidate, label in ROLE_LABELS.items():
        if any(translator(lang)(label) == text for lang in LANGUAGES):
            return candidate
    return None


async def invite(update: Update, context: KcbxContext) -> None:
    person = require_person(context)
    t = context.gettext
    if person.role != Role.ADMIN or not is_private(update):
        await deny(update, context)
        return
    args = context.args or []
    if len(args) < 2:
        codes = ", ".join(r.value for r in Role)
        await reply(
            update,
            t("Usage: /invite ROLE UNIT [NAME]\nRoles: {roles}").format(roles=escape(codes)),
        )
        return
    role = role_from_text(args[0])
    if role is None:
        await reply(update, t("Unknown role: {role}").format(role=escape(args[0])))
        return
    try:
        invitation = await create_invitation(
            context.services,
            role=role,
            unit_text=args[1],
            name=" ".join(args[2:]) or None,
            phone=None,
            actor=f"person:{person.id}",
        )
    except AccessError as exc:
        await reply(update, escape(exc.render(t)))
        return
    await reply(
        update,
        t(
            "Invitation for <b>{name}</b> ({role}). Send this one-time link to them; it "
            "expires on {expires}:\n{link}"
        ).format(
            name=escape(invitation.person.name or "—"),
            role=t(ROLE_LABELS[role]),
            expires=invitation.expires_at,
            link=escape(invitation.link),
        ),
    )


async def revoke(update: Update, context: KcbxContext) -> None:
    person = require_person(context)
    t = context.gettext
    if person.role != Role.ADMIN or not is_private(update):
        await deny(update, context)
        return
    if not context.args:
        await reply(update, t("Usage: /revoke PHONE"))
        return
    try:
        revoked = await revoke_person(
            context.services, context.args[0], actor=f"person:{person.id}"
        )
    except AccessError as exc:
        await reply(update, escape(exc.render(t)))
        return
    await reply(
        update, t("<b>{name}</b> is revoked and locked out.").format(name=escape(revoked.name))
    )


async def import_help(update: Update, context: KcbxContext) -> None:
    person = require_person(context)
    if person.role != Role.ADMIN or not is_private(update):
        await deny(update, context)
        return
    await reply(
        update,
        context.gettext("Send a roster file (.xlsx or .csv) to import units, staff and students"),
    )


async def roster_file(update: Update, context: KcbxContext) -> None:
    """An administrator sends a roster (.xlsx/.csv): check it whole, import it or list why not."""
    person = require_person(context)
    t = context.gettext
    message = update.effective_message
    if person.role != Role.ADMIN or not is_private(update) or message is None:
        await deny(update, context)
        return
    document = message.document
    if document is None:
        return
    limit = context.services.config.max_upload_bytes
    if document.file_size and document.file_size > limit:
        await reply(
            update,
            t("This file is too large ({size} MB); the limit is {limit} MB.").format(
                size=round(document.file_size / 1_048_576, 1), limit=limit // 1_048_576
            ),
        )
        return
    data = bytes(await (await context.bot.get_file(document.file_id)).download_as_bytearray())
    filename = document.file_name or "roster.xlsx"
    await _import_and_answer(update, context, data, filename, skip_invalid=False)


async def import_valid_rows(update: Update, context: KcbxContext) -> None:
    """The button under a refused import: import the valid rows and list the others."""
    person = require_person(context)
    query = update.callback_query
    assert query is not None
    if person.role != Role.ADMIN:
        await deny(update, context)
        return
    pending = (context.chat_data or {}).pop(PENDING_IMPORT, None)
    if pending is None:
        await query.answer(context.gettext("Please send the file again."), show_alert=True)
        return
    await query.answer()
    filename, data = pending
    await _import_and_answer(update, context, data, filename, skip_invalid=True)


async def _import_and_answer(
    update: Update, context: KcbxContext, data: bytes, filename: str, *, skip_invalid: bool
) -> None:
    person = require_person(context)
    t = context.gettext
    services = context.services
    report = await import_roster(
        services.db,
        data,
        filename,
        actor=f"person:{person.id}",
        skip_invalid=skip_invalid,
        clock=services.clock,
        timezone=services.config.tz,
        max_bytes=services.config.max_upload_bytes,
    )
    if report.written:
        services.units.invalidate()
    texts = pages(escape(line) for line in render_report(report, t))
    offer = not report.written and report.rows > 0 and context.chat_data is not None
    if offer:
        context.chat_data[PENDING_IMPORT] = (filename, data)  # type: ignore[index]
    for index, text in enumerate(texts):
        last = index == len(texts) - 1
        markup = (
            inline([[(t("Import the valid rows only"), "imp:skip")]]) if offer and last else None
        )
        if update.effective_chat is not None:
            await context.bot.send_message(
                update.effective_chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("invite", invite))
    app.add_handler(CommandHandler("revoke", revoke))
    app.add_handler(CommandHandler("import", import_help))
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE
            & (filters.Document.FileExtension("xlsx") | filters.Document.FileExtension("csv")),
            roster_file,
        )
    )
    app.add_handler(CallbackQueryHandler(import_valid_rows, pattern=r"^imp:skip$"))
