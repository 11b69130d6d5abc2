"""Retention, pure: when a closed case's photos, documents and personal details are reduced.

What goes: photos and evidence files (``photos_months`` after closing); the notices, orders and
receipts (``documents_years``); the free text and places of the records (``details_years``).
What stays: the case, its dates, stage, cause and the kinds of its actions, which are what the
summaries, the ledger's counts and A8 are computed from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kcbx.bot.domain.policy import RetentionPolicy

PHOTOS = "photos"
DOCUMENTS = "documents"
DETAILS = "details"
KINDS = (PHOTOS, DOCUMENTS, DETAILS)

# Keys of an action's detail that hold what people said or where they were: reduced. Coded
# values (outcome, who was met, the kind of contact, dates) stay: they are the evidence that a
# measure was taken (A8), not personal details.
PERSONAL_KEYS = frozenset(
    {"note", "text", "said", "location", "place", "address", "phone", "whereabouts", "reason"}
)


def months_before(when: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's end)."""
    total = when.year * 12 + (when.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30]
    days += [31, 31, 30, 31, 30, 31]
    return when.replace(year=year, month=month, day=min(when.day, days[month - 1]))


def cutoffs(policy: RetentionPolicy, now: datetime) -> dict[str, datetime]:
    """For each kind, cases closed before this instant are due for it."""
    return {
        PHOTOS: months_before(now, policy.photos_months),
        DOCUMENTS: months_before(now, 12 * policy.documents_years),
        DETAILS: months_before(now, 12 * policy.details_years),
    }


def reduced_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """An action's detail without what people said or where: the coded facts stay."""
    kept = {k: v for k, v in detail.items() if k not in PERSONAL_KEYS}
    if len(kept) != len(detail):
        kept["reduced"] = True
    return kept
