"""Taking a photo or document sent in chat as evidence: size check, then download.

The file is fetched through the Bot API (getFile) at once and kept in memory until the
record is confirmed, so evidence survives even when Telegram forgets the file; the file_id is
kept beside it. Nothing is stored until the person confirms.
"""

from __future__ import annotations

import mimetypes

from telegram import Message
from telegram.error import TelegramError

from kcbx.bot.domain.i18n import N_
from kcbx.bot.services.visits import VisitProblem
from kcbx.handlers.context import KcbxContext
from kcbx.storage.visits import EvidenceFile

# Documents accepted as evidence: pictures and scans, PDF, Word.
DOCUMENT_TYPES = ("image/", "application/pdf", "application/msword", "application/vnd.openxml")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


async def receive_evidence(
    message: Message, context: KcbxContext, *, documents: bool
) -> EvidenceFile:
    """The photo (or, if ``documents``, the document) of a message, downloaded.

    Raises:
        VisitProblem: not a photo/document, too large (config.max_upload_bytes), a document
            of a type that is not evidence, or Telegram would not give the file.
    """
    limit = context.services.config.max_upload_bytes
    if message.photo:
        largest = message.photo[-1]
        size, file_id, unique = largest.file_size or 0, largest.file_id, largest.file_unique_id
        kind, filename, mime = "photo", f"photo_{unique}.jpg", "image/jpeg"
    elif documents and message.document is not None:
        document = message.document
        mime = document.mime_type or mimetypes.guess_type(document.file_name or "")[0] or ""
        if not mime.startswith(DOCUMENT_TYPES):
            raise VisitProblem(N_("Please send a photo, a scan, a PDF or a Word file."))
        size, file_id, unique = document.file_size or 0, document.file_id, document.file_unique_id
        kind, filename = "document", document.file_name or f"document_{unique}"
    else:
        raise VisitProblem(N_("Please send a photo."))
    if size > limit:
        raise VisitProblem(
            N_(
                "This file is too large ({size} MB; at most {limit} MB). Please send a smaller one."
            ),
            size=_megabytes(size),
            limit=_megabytes(limit),
        )
    try:
        telegram_file = await context.bot.get_file(file_id)
        data = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        raise VisitProblem(
            N_("I could not fetch that file from Telegram; please send it again.")
        ) from exc
    if len(data) > limit:
        raise VisitProblem(
            N_(
                "This file is too large ({size} MB; at most {limit} MB). Please send a smaller one."
            ),
            size=_megabytes(len(data)),
            limit=_megabytes(limit),
        )
    return EvidenceFile(
        kind=kind, data=data, filename=filename, mime=mime, file_id=file_id, file_unique_id=unique
    )
