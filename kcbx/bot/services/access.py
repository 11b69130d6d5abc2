"""Invite-only access: making invitations, accepting them, revoking people."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.roles import ROLE_UNIT_KINDS, Role
from kcbx.bot.runtime.services import Services
from kcbx.storage.invites import InviteResult

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class AccessError(Exception):
    """A request the caller must correct; `message` is a msgid, `params` its fields."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def render(self, gettext: object) -> str:
        translate = gettext if callable(gettext) else (lambda s: s)
        return str(translate(self.message)).format(**self.params)


@dataclass(frozen=True)
class Invitation:
    code: str
    person: Person
    link: str
    expires_at: str


def new_code() -> str:
    """32 characters of A-Za-z0-9_-: fits a deep-link payload (at most 64)."""
    return secrets.token_urlsafe(24)


async def create_invitation(
    services: Services,
    *,
    role: Role,
    unit_text: str,
    name: str | None,
    phone: str | None,
    actor: str,
) -> Invitation:
    """Invite a person to a role in a unit: an imported one if they exist, else a new one."""
    now = services.clock.now()
    person: Person | None = None
    if phone:
        person = await services.people.by_phone(phone)
        if person is None:
            raise AccessError(N_("Nobody with phone {phone} is on the roster."), phone=phone)
        if person.role != role:
            raise AccessError(
                N_("{name} is on the roster as {role_code}, not {wanted}."),
                name=person.name,
                role_code=person.role.value,
                wanted=role.value,
            )
    else:
        kinds = ROLE_UNIT_KINDS[role]
        units = await services.units.find(unit_text, kinds)
        if not units:
            raise AccessError(
                N_("No unit called {unit} of a kind this role belongs to ({kinds})."),
                unit=unit_text,
                kinds=", ".join(kinds),
            )
        if len(units) > 1:
            raise AccessError(
                N_("{count} units are called {unit}: give the path, e.g. township/village."),
                count=len(units),
                unit=unit_text,
            )
        unit = units[0]
        person = await services.people.find_unbound(role, unit.id, name)
        if person is None:
            person = await services.people.create(
                name=name or "", role=role, unit_id=unit.id, phone=None, actor=actor, now=now
            )
    if not person.active:
        raise AccessError(N_("{name} has been revoked."), name=person.name)
    code = new_code()
    expires = now + timedelta(days=services.config.invite_days)
    await services.invites.create(
        code=code, person_id=person.id, actor=actor, now=now, expires_at=expires
    )
    username = services.config.bot_username or "<bot>"
    return Invitation(
        code=code,
        person=person,
        link=f"https://t.me/{username}?start={code}",
        expires_at=expires.astimezone(services.config.tz).strftime("%Y-%m-%d %H:%M"),
    )


async def accept_invitation(
    services: Services, code: str, *, telegram_id: int, chat_id: int, lang: str, name: str
) -> Person | None:
    """Bind a Telegram account through an invitation; None for a bad, used or old code."""
    if not CODE_PATTERN.match(code):
        return None
    now = services.clock.now()
    result, person_id = await services.invites.consume(code, telegram_id=telegram_id, now=now)
    if result != InviteResult.OK or person_id is None:
        return None
    await services.people.bind_telegram(
        person_id, telegram_id=telegram_id, chat_id=chat_id, lang=lang, name=name, now=now
    )
    return await services.people.get(person_id)


async def revoke_person(services: Services, who: str, *, actor: str) -> Person:
    """Revoke by phone or person id; they are locked out at their next update."""
    person = None
    if who.isdigit() and len(who) < 11:
        person = await services.people.get(int(who))
    if person is None:
        person = await services.people.by_phone(who)
    if person is None:
        raise AccessError(N_("Nobody found for {who}."), who=who)
    await services.people.revoke(person.id, actor=actor, now=services.clock.now())
    refreshed = await services.people.get(person.id)
    assert refreshed is not None
    return refreshed
