"""Administrators in chat: /invite and /revoke (issue 2, who gets in)."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import Application, CommandHandler

from kcbx.bot.access import AccessError, create_invitation, revoke_person
from kcbx.bot.context import KcbxContext
from kcbx.bot.i18n import LANGUAGES, translator
from kcbx.bot.roles import ROLE_LABELS, Role, parse_role
from kcbx.handlers.common import deny, is_private, reply, require_person


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


def register(app: Application) -> None:
    app.add_handler(CommandHandler("invite", invite))
    app.add_handler(CommandHandler("revoke", revoke))
