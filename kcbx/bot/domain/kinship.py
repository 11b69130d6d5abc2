"""How an official notice addresses the guardians (A7.4, A7.5): by number and by relation.

One guardian is 你, several are 你们. The child is named by the guardians' relation to it:
parents say 你们的子女 (one parent: 你的儿子 / 你的女儿), paternal grandparents 你的孙子 / 孙女,
maternal ones 你的外孙 / 外孙女. Guardians of mixed or unknown relation, or other relatives,
are addressed by what they are in law: 你（们）监护的 (the Compulsory Education Law's
父母或者其他法定监护人).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from kcbx.bot.domain.i18n import N_, Translate

PARENT, GRANDPARENT, MATERNAL_GRANDPARENT, OTHER = "parent", "grandparent", "maternal", "other"

# Relations as rosters write them (the household register's words and the everyday ones).
RELATIONS: Final[dict[str, str]] = {
    **dict.fromkeys(
        ("父亲", "父", "爸爸", "母亲", "母", "妈妈", "父母", "继父", "继母", "养父", "养母"), PARENT
    ),
    **dict.fromkeys(("祖父", "祖母", "爷爷", "奶奶", "祖父母"), GRANDPARENT),
    **dict.fromkeys(
        ("外祖父", "外祖母", "外公", "外婆", "姥爷", "姥姥", "外祖父母"), MATERNAL_GRANDPARENT
    ),
}
_CHILD: Final[dict[str, tuple[str, str, str]]] = {
    # kind: (boy, girl, either)
    PARENT: ("儿子", "女儿", "子女"),
    GRANDPARENT: ("孙子", "孙女", "孙子女"),
    MATERNAL_GRANDPARENT: ("外孙", "外孙女", "外孙子女"),
}


def relation_kind(relation: str | None) -> str:
    """``parent``, ``grandparent``, ``maternal`` or ``other`` for a relation as written."""
    text = (relation or "").strip().replace(" ", "")
    return RELATIONS.get(text, OTHER)


@dataclass(frozen=True)
class Address:
    """The words a notice uses for its addressees: ``you`` (你/你们) and ``child`` (the
    phrase before the child's name: 你们的子女, 你的孙女, 你们监护的)."""

    you: str
    child: str


def address_guardians(relations: Sequence[str | None], gender: str | None) -> Address:
    """How to address guardians with these relations to a child of this gender (男/女/M/F).

    Two parents are 你们 and the child 你们的子女; one grandmother is 你 and a girl 你的孙女.
    """
    you = "你" if len(relations) <= 1 else "你们"
    kinds = {relation_kind(r) for r in relations}
    if len(kinds) != 1 or OTHER in kinds:
        return Address(you, f"{you}监护的")
    boy, girl, either = _CHILD[kinds.pop()]
    if len(relations) > 1 and boy == "儿子":
        word = either  # 你们的子女: the parents together, as the measures say it
    elif gender in ("男", "M"):
        word = boy
    elif gender in ("女", "F"):
        word = girl
    else:
        word = either
    return Address(you, f"{you}的{word}")


# A guardian's relation as the roster stores it (the vocabulary's first word), in the
# reader's words: 父亲 in Chinese, "father" in English. Others are shown as written.
RELATION_NAMES: Final[dict[str, str]] = {
    "父亲": N_("father"),
    "母亲": N_("mother"),
    "继父": N_("stepfather"),
    "继母": N_("stepmother"),
    "祖父": N_("grandfather"),
    "祖母": N_("grandmother"),
    "外祖父": N_("maternal grandfather"),
    "外祖母": N_("maternal grandmother"),
    "哥哥": N_("elder brother"),
    "姐姐": N_("elder sister"),
    "叔叔": N_("uncle"),
    "姑姑": N_("aunt"),
    "其他亲属": N_("other relative"),
}


def relation_word(relation: str, gettext: Translate) -> str:
    """A stored relation in the reader's words (祖父, grandfather); others as written."""
    return gettext(RELATION_NAMES[relation]) if relation in RELATION_NAMES else relation
