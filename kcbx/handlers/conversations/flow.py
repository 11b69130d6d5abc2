"""What every multi-step conversation (report, visit, closing, delivery) shares, and the one
builder they are made with (:class:`Conversation`): the draft kept in user_data until "Save";
the ways out — /cancel and the Cancel button, another command, a timeout, a button of an
earlier step or of a conversation that is over, text where a button was asked; the optional
note step; the confirm step. Nothing is written before "Save", so every way out leaves
nothing half-written.

Each conversation's callback data starts with its ``key``: ``{key}:x`` cancels, ``{key}:n``
skips the note, ``{key}:ok`` saves.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from html import escape
from typing import Any, Generic, TypeVar

from telegram import CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from kcbx.bot.domain.capabilities import COMMANDS, button_labels
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.model import Person
from kcbx.bot.services.unfinished import tell_left_unfinished
from kcbx.bot.texts.paging import choice_page
from kcbx.handlers.common import Rows, deny, inline, is_private, reply, require_person, show, tell
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.jobs import kick_delivery

T = TypeVar("T")
U = TypeVar("U")
E = TypeVar("E", bound=Exception)
Handler = Callable[[Update, KcbxContext], Coroutine[Any, Any, None]]
StepHandler = Callable[[Update, KcbxContext], Coroutine[Any, Any, int]]
DraftStep = Callable[[Update, KcbxContext, T, U], Coroutine[Any, Any, int]]
NoteStep = Callable[[Update, KcbxContext, T, U, str | None], Coroutine[Any, Any, int]]
SaveStep = Callable[[Update, KcbxContext, Person, T], Coroutine[Any, Any, int]]
States = dict[object, list[BaseHandler[Update, KcbxContext, Any]]]

END = ConversationHandler.END
TIMEOUT = timedelta(minutes=30)  # a draft untouched this long is dropped (and the person told)
NOTE, CONFIRM = 100, 101  # the states of the shared steps (a conversation's own are 0, 1, ...)


@dataclass(frozen=True)
class Inputs:
    """The filters a conversation's states use: the main keyboard's buttons (which leave the
    conversation), free text, and anything else (which gets a hint)."""

    keyboard: filters.BaseFilter
    text: filters.BaseFilter
    other: filters.BaseFilter


@cache
def inputs() -> Inputs:
    keyboard = filters.Text(
        [label for c in COMMANDS if c.button for label in button_labels(c.name)]
    )
    return Inputs(
        keyboard=keyboard,
        text=filters.TEXT & ~filters.COMMAND & ~keyboard,
        other=~filters.COMMAND & ~keyboard & ~filters.StatusUpdate.ALL,
    )


class Drafts(Generic[T]):
    """The person's draft of one conversation, in user_data under `key`."""

    def __init__(self, key: str, kind: type[T]) -> None:
        self.key = key
        self.kind = kind

    def get(self, context: KcbxContext) -> T | None:
        draft = (context.user_data or {}).get(self.key)
        return draft if isinstance(draft, self.kind) else None

    def keep(self, context: KcbxContext, draft: T) -> None:
        if context.user_data is not None:
            context.user_data[self.key] = draft

    def forget(self, context: KcbxContext) -> None:
        if context.user_data is not None:
            context.user_data.pop(self.key, None)


def cancel_row(t: Translate, data: str) -> list[tuple[str, str]]:
    """The "Cancel" button of a conversation, on a row of its own."""
    return [(t("Cancel"), data)]


async def settle(query: CallbackQuery, answer: str) -> None:
    """Close a question once answered: its buttons go, the answer (HTML, escaped by the
    caller) is shown under it."""
    await query.answer()
    message = query.message
    if not isinstance(message, Message) or message.text is None:
        return
    try:
        await message.edit_text(
            f"{message.text_html}\n→ {answer}", parse_mode=ParseMode.HTML, reply_markup=None
        )
    except BadRequest:
        with suppress(BadRequest):
            await message.edit_reply_markup(reply_markup=None)


def leave(drafts: Drafts[T], stopped: str) -> StepHandler:
    """Another command (or another feature's button) in the middle: stop, say so."""

    async def handler(update: Update, context: KcbxContext) -> int:
        drafts.forget(context)
        await reply(update, context.gettext(stopped))
        return ConversationHandler.END

    return handler


def timed_out(drafts: Drafts[T], what: str) -> Handler:
    """conversation_timeout: drop the draft and tell the person through the outbox."""

    async def handler(update: Update, context: KcbxContext) -> None:
        drafts.forget(context)
        if update.effective_user is None:
            return
        if await tell_left_unfinished(context.services, update.effective_user.id, what):
            kick_delivery(context.application)

    return handler


def over(message: str) -> Handler:
    """A button of this conversation pressed when none is under way (after /cancel, a
    timeout or a restart): an alert, nothing else."""

    async def handler(update: Update, context: KcbxContext) -> None:
        query = update.callback_query
        if query is not None:
            await query.answer(context.gettext(message), show_alert=True)

    return handler


async def hint_buttons(update: Update, context: KcbxContext) -> None:
    """Text (or a photo, a sticker...) where a button was expected."""
    await reply(update, context.gettext("Please use the buttons above, or send /cancel to stop."))


async def old_button(update: Update, context: KcbxContext) -> None:
    """A button of an earlier step of the conversation under way."""
    query = update.callback_query
    if query is not None:
        await query.answer(context.gettext("Please answer the latest question."))


def pressed_code(update: Update) -> str:
    """What follows ``{key}:{step}:`` in the pressed button's data."""
    query = update.callback_query
    parts = ((query.data or "") if query else "").split(":", 2)
    return parts[2] if len(parts) == 3 else ""


def note_of(update: Update) -> str | None:
    """The note typed at the note step; None when Skip was pressed."""
    return None if update.callback_query is not None else typed_text(update)


def typed_text(update: Update) -> str:
    """The text of the message that came ("" for anything else)."""
    message = update.effective_message
    return (message.text or "") if message else ""


@dataclass(frozen=True)
class Conversation(Generic[T]):
    """One conversation's shared parts, from which its ConversationHandler is built.

    ``in_place``: each question replaces the one whose button was pressed (``common.show``);
    otherwise questions come as new messages and an answered one is settled (:func:`settle`).
    ``stopped``: what another command or keyboard button says when it stops the
    conversation; None lets them pass by with the conversation still open.
    """

    name: str  # of the ConversationHandler (its persisted state is kept under it)
    key: str  # the callback data prefix of its steps
    drafts: Drafts[T]
    over: str  # msgid: the conversation is over, nothing was saved
    stopped: str | None = None
    in_place: bool = False
    buttons: str = ""  # a regex of all its buttons (stale ones are answered); ^{key}: if ""
    what: str = ""  # the word for it in what the person is told (services.unfinished); name if ""

    @property
    def told_as(self) -> str:
        return self.what or self.name

    @property
    def pattern(self) -> str:
        return self.buttons or f"^{self.key}:"

    @property
    def inputs(self) -> Inputs:
        return inputs()

    def cancel_row(self, t: Translate) -> list[tuple[str, str]]:
        return cancel_row(t, f"{self.key}:x")

    def picker(
        self,
        t: Translate,
        choices: Sequence[tuple[str, str]],
        page: int,
        data: str,
        *,
        back: tuple[str, str] | None = None,
    ) -> tuple[Rows, str | None]:
        """A page of ``choices`` with [更多] (``data`` formatted with the page), ``back`` and
        Cancel: six buttons at most (docs/texts.md). A page that does not exist (forged, or
        of a list that changed) gives the first page and the alert that says so."""
        last = [back] if back else []
        last += self.cancel_row(t)
        alert = None
        found = choice_page(t, choices, page, data, fixed=len(last))
        if found is None:
            alert = t("This page of the list is no longer there. Please choose again.")
            found = choice_page(t, choices, 0, data, fixed=len(last))
        assert found is not None  # page 0 always exists
        rows, more = found
        return [*rows, ([more] if more else []) + last], alert

    def note_rows(self, t: Translate) -> Rows:
        """Under the note question: Skip, then Cancel."""
        return [[(t("Skip"), f"{self.key}:n")], self.cancel_row(t)]

    def confirm_rows(self, t: Translate, label: str) -> Rows:
        """Under the summary: ``label`` (Confirm, Save) and Cancel."""
        return [[(t(label), f"{self.key}:ok"), (t("Cancel"), f"{self.key}:x")]]

    async def summary(self, update: Update, context: KcbxContext, text: str, label: str) -> int:
        """The summary to check, with ``label`` (Save, Confirm) and Cancel under it; its
        press is the confirm step (:meth:`confirm_step`)."""
        await self.say(update, text, self.confirm_rows(context.gettext, label))
        return CONFIRM

    async def say(self, update: Update, text: str, rows: Rows | None = None) -> None:
        """The next question or the last word, the way this conversation shows them."""
        if self.in_place:
            await show(update, text, rows)
        else:
            await reply(update, text, inline(rows) if rows else None)

    async def opens(
        self,
        update: Update,
        context: KcbxContext,
        *,
        private: str,
        allowed: bool,
        refused: str | None = None,
    ) -> bool:
        """Whether the conversation may start: in a private chat (else ``private`` is said)
        and for someone ``allowed`` (else ``refused``, or the refusal that reveals nothing).
        When it starts, a draft left from before is dropped."""
        if not is_private(update):
            await reply(update, context.gettext(private))
            return False
        if not allowed:
            if refused is None:
                await deny(update, context)
            else:
                await reply(update, context.gettext(refused))
            return False
        self.drafts.forget(context)
        return True

    async def cancel(self, update: Update, context: KcbxContext) -> int:
        """/cancel or the Cancel button: nothing was saved."""
        self.drafts.forget(context)
        t = context.gettext
        if not self.in_place and update.callback_query is not None:
            await settle(update.callback_query, t("Cancel"))
        await self.say(update, t("Cancelled. Nothing was saved."))
        return ConversationHandler.END

    async def lost(self, update: Update, context: KcbxContext) -> int:
        """The draft is gone (a restart, a timeout) while the conversation goes on."""
        self.drafts.forget(context)
        await tell(update, context.gettext(self.over))
        return ConversationHandler.END

    def rechecked(
        self,
        check: Callable[[KcbxContext, T], Awaitable[U]],
        problem: type[E],
        answer: Callable[[Update, KcbxContext, E], Awaitable[None]],
    ) -> Callable[[DraftStep[T, U]], StepHandler]:
        """A decorator for the steps after the first: each gets the draft and what ``check``
        finds again (the person's scope or the case may have changed since the last step).
        A missing draft, or ``problem`` from the check (told with ``answer``), ends it."""

        def wrap(step: DraftStep[T, U]) -> StepHandler:
            async def handler(update: Update, context: KcbxContext) -> int:
                draft = self.drafts.get(context)
                if draft is None:
                    return await self.lost(update, context)
                try:
                    found = await check(context, draft)
                except problem as exc:
                    self.drafts.forget(context)
                    await answer(update, context, exc)
                    return ConversationHandler.END
                return await step(update, context, draft, found)

            return handler

        return wrap

    def note_step(
        self,
        rechecked: Callable[[DraftStep[T, U]], StepHandler],
        read: Callable[[str], str],
        problem: type[E],
        answer: Callable[[Update, KcbxContext, E], Awaitable[None]],
        then: NoteStep[T, U],
    ) -> States:
        """The optional note: typed text, which ``read`` checks (``problem`` is told with
        ``answer`` and the note asked again), or Skip. ``then`` gets the note (None: skipped)
        with the draft and what the recheck found."""

        @rechecked
        async def take(update: Update, context: KcbxContext, draft: T, found: U) -> int:
            text = note_of(update)
            if text is None:
                if not self.in_place and update.callback_query is not None:
                    await settle(update.callback_query, escape(context.gettext("Skip")))
                return await then(update, context, draft, found, None)
            try:
                note = read(text)
            except problem as exc:
                await answer(update, context, exc)
                return NOTE
            return await then(update, context, draft, found, note)

        return {
            NOTE: [
                CallbackQueryHandler(take, pattern=f"^{self.key}:n$"),
                MessageHandler(self.inputs.text, take),
            ]
        }

    def confirm_step(
        self,
        save: SaveStep[T],
        problem: type[E],
        answer: Callable[[Update, KcbxContext, E], Awaitable[None]],
    ) -> States:
        """The press of the summary's Save (or Confirm): ``save`` gets the person and the
        draft. A draft that is gone (a restart, a timeout) ends the conversation as lost;
        ``problem`` from ``save`` (nothing saved) drops the draft, is told with ``answer``
        and ends it."""

        async def handler(update: Update, context: KcbxContext) -> int:
            person = require_person(context)
            draft = self.drafts.get(context)
            if draft is None:
                return await self.lost(update, context)
            try:
                return await save(update, context, person, draft)
            except problem as exc:
                self.drafts.forget(context)
                await answer(update, context, exc)
                return ConversationHandler.END

        return {CONFIRM: [CallbackQueryHandler(handler, pattern=f"^{self.key}:ok$")]}

    def handler(
        self, entry_points: Sequence[BaseHandler[Update, KcbxContext, Any]], states: States
    ) -> ConversationHandler[KcbxContext]:
        """The ConversationHandler: ``states`` and the shared ways out."""
        fallbacks: list[BaseHandler[Update, KcbxContext, Any]] = [
            CommandHandler("cancel", self.cancel),
            CallbackQueryHandler(self.cancel, pattern=f"^{self.key}:x$"),
            CallbackQueryHandler(old_button, pattern=self.pattern),
        ]
        if self.stopped is not None:
            fallbacks.append(
                MessageHandler(
                    filters.COMMAND | self.inputs.keyboard, leave(self.drafts, self.stopped)
                )
            )
        fallbacks.append(MessageHandler(self.inputs.other, hint_buttons))
        timeout = {
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out(self.drafts, self.told_as))]
        }
        with warnings.catch_warnings():
            # per_message=False is what we want (a conversation spans several messages); PTB
            # warns that CallbackQueryHandlers are then tracked per chat and user: the point.
            warnings.simplefilter("ignore", PTBUserWarning)
            return ConversationHandler(
                entry_points=list(entry_points),
                states={**states, **timeout},  # type: ignore[dict-item]
                fallbacks=fallbacks,
                allow_reentry=True,
                conversation_timeout=TIMEOUT,
                persistent=True,  # a restart keeps the step and the draft (handlers.persistence)
                name=self.name,
            )

    def register(self, app: Application, handler: ConversationHandler[KcbxContext]) -> None:
        """The conversation, then an answer for its buttons once it is over."""
        app.add_handler(handler)
        app.add_handler(CallbackQueryHandler(over(self.over), pattern=self.pattern))
