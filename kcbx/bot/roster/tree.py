"""The district's units as a tree, found the ways offices write them.

A unit is found by its name, by a path of names (滨河镇/新墩村/一组), by its name without
its type (三道湖 for 三道湖村), by its number when it is a group (1组 = 一组 = 第一组 = 1队),
and by a village's name joined to the group's (三道湖村1组, 三道湖村一组, 三道湖1组).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from kcbx.bot.domain.i18n import N_
from kcbx.bot.roster.cells import group_number
from kcbx.bot.roster.layout import Origin
from kcbx.bot.roster.vocabulary import closest
from kcbx.storage.roster_repo import ExistingUnit, UnitKey, unit_keys

KIND_LABELS = {
    "district": N_("district"),
    "township": N_("township"),
    "village": N_("village"),
    "group": N_("group"),
    "school": N_("school"),
    "department": N_("department"),
}
SECTION_LABELS = {
    "primary": N_("primary school"),
    "junior": N_("junior middle school"),
    "nine_year": N_("nine-year school"),
}
SECTION_GRADES = {"primary": range(1, 7), "junior": range(7, 10), "nine_year": range(1, 10)}
# the kinds a unit of each kind may hang under (A5: district > township > village > group)
PARENT_KINDS = {
    "district": ("district",),
    "township": ("district",),
    "village": ("township",),
    "group": ("village",),
    "school": ("district", "township", "village"),
    "department": ("district", "department"),
}
# what a unit's name may be written without (三道湖 for 三道湖村)
_TYPE_SUFFIXES = {
    "village": ("村民委员会", "居民委员会", "村委会", "居委会", "社区", "村"),
    "township": ("街道办事处", "街道", "镇", "乡"),
}


def _stem(kind: str, name: str) -> str | None:
    for suffix in _TYPE_SUFFIXES.get(kind, ()):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


class Node:
    __slots__ = (
        "broken", "children", "code", "key", "kind", "name", "number", "parent", "section",
        "stem",
    )  # fmt: skip

    def __init__(
        self, key: UnitKey, parent: Node | None, section: str | None, code: str | None
    ) -> None:
        self.key = key
        self.kind, self.name = key[-1]
        self.parent = parent
        self.section = section
        self.code = code  # a department's A6/A9 role
        self.children: list[Node] = []
        self.broken: Origin | None = None  # the row with errors that declares this unit
        self.stem = _stem(self.kind, self.name)
        self.number: int | None = None  # a group's number: 1 for 一组, 1队, 三道湖村1组
        if self.kind == "group":
            self.number = group_number(self.name)
            if self.number is None and parent is not None:
                for prefix in (parent.name, parent.stem):
                    if prefix and self.name.startswith(prefix):
                        self.number = group_number(self.name[len(prefix) :])
                        break

    def broken_row(self) -> Origin | None:
        """The row with errors that declares this unit or one of its ancestors, if any."""
        node: Node | None = self
        while node is not None:
            if node.broken is not None:
                return node.broken
            node = node.parent
        return None

    def path(self) -> str:
        names = []
        node: Node | None = self
        while node is not None:
            if node.kind != "district":
                names.append(node.name)
            node = node.parent
        return "/".join(reversed(names)) or self.name

    def called(self, text: str) -> bool:
        """Whether ``text`` names this unit: its name, its stem, or a group's number."""
        if text == self.name or text == self.stem:
            return True
        return self.number is not None and group_number(text) == self.number

    def nearest(self, kind: str) -> Node | None:
        node: Node | None = self
        while node is not None and node.kind != kind:
            node = node.parent
        return node


class UnitTree:
    """The stored units plus those a file adds, found by name or by path."""

    def __init__(self, units: Iterable[ExistingUnit]) -> None:
        self.by_key: dict[UnitKey, Node] = {}
        self.by_name: dict[str, list[Node]] = {}
        self.by_stem: dict[str, list[Node]] = {}
        self.by_number: dict[int, list[Node]] = {}
        self.by_id: dict[int, Node] = {}  # the stored units
        units = list(units)
        keys = unit_keys(units)
        for unit in sorted(units, key=lambda u: len(keys.get(u.id, ()))):
            key = keys.get(unit.id)
            if key is not None and key not in self.by_key:
                self.by_id[unit.id] = self.add(key, unit.section, unit.code)

    def add(self, key: UnitKey, section: str | None, code: str | None = None) -> Node:
        """The node of ``key``, created if new (its parent must be known)."""
        node = self.by_key.get(key)
        if node is not None:
            node.section = section if section is not None else node.section
            node.code = code if code is not None else node.code
            return node
        parent = self.by_key[key[:-1]] if len(key) > 1 else None
        node = Node(key, parent, section, code)
        self.by_key[key] = node
        self.by_name.setdefault(node.name, []).append(node)
        if node.stem is not None:
            self.by_stem.setdefault(node.stem, []).append(node)
        if node.number is not None:
            self.by_number.setdefault(node.number, []).append(node)
        if parent is not None:
            parent.children.append(node)
        return node

    def nodes(self) -> Iterator[Node]:
        return iter(self.by_key.values())

    def find(self, path: Sequence[str]) -> list[Node]:
        """The units ``path`` may name: its last part names the unit (by name, stem or group
        number, else by joined names), and the parts before it the unit's nearest ancestors."""
        last, above = path[-1], path[:-1]
        for named in (self._direct, self._joined):
            found: dict[UnitKey, Node] = {}
            for node, top in named(last):
                if _below(top, above):
                    found.setdefault(node.key, node)
            if found:
                return list(found.values())
        return []

    def _direct(self, text: str) -> list[tuple[Node, Node]]:
        """(unit, unit) for the units called ``text``: by name, stem, or as a group's number
        (1组 is every group numbered 1, whatever its name: 一组, 1队, 三道湖村1组)."""
        nodes = [*self.by_name.get(text, ()), *self.by_stem.get(text, ())]
        number = group_number(text)
        if number is not None:
            nodes += self.by_number.get(number, ())
        return [(n, n) for n in nodes]

    def _joined(self, text: str) -> list[tuple[Node, Node]]:
        """(unit, the topmost unit the text names on the way): 三道湖村1组 -> (1组, 三道湖村)."""
        for head, tail in _splits(text):
            joined = [
                (child, top)
                for top in (*self.by_name.get(head, ()), *self.by_stem.get(head, ()))
                for child in _under(top, tail)
            ]
            if joined:
                return joined
        return []

    def near(self, path: Sequence[str], kinds: Sequence[str]) -> str | None:
        """The name (or path, as long as ``path``) of a unit of ``kinds`` most like ``path``,
        for a near miss: 三到湖村 -> 三道湖村, 三到湖村/1组 -> 三道湖村/1组."""
        names = {
            "/".join(n.path().split("/")[-len(path) :]) for n in self.nodes() if n.kind in kinds
        }
        return closest("/".join(path), names)


def _below(top: Node, names: Sequence[str]) -> bool:
    """Whether the units just above ``top`` are called ``names`` (nearest last)."""
    ancestor = top.parent
    for name in reversed(names):
        if ancestor is None or not ancestor.called(name):
            return False
        ancestor = ancestor.parent
    return True


def _splits(text: str) -> Iterator[tuple[str, str]]:
    """(head, tail) of a text, the longest head first."""
    for i in range(len(text) - 1, 1, -1):
        yield text[:i], text[i:]


def _under(parent: Node, text: str) -> list[Node]:
    """The units under ``parent`` that ``text`` names, directly or by joined names."""
    direct = [c for c in parent.children if c.called(text)]
    if direct:
        return direct
    for head, tail in _splits(text):
        joined = [g for c in parent.children if c.called(head) for g in _under(c, tail)]
        if joined:
            return joined
    return []
