"""Checks of `shuffle` lists (items shown in an order drawn per prompt): each list's items
exist, stand together, appear once, and do not depend on one another, whatever order is drawn;
and every item that may open an SMS prompt fits its first text."""

from __future__ import annotations

from typing import Any

from eas.delivery.segments import count_segments
from eas.protocols import expressions, piping
from eas.protocols.findings import as_list
from eas.protocols.sms_format import opening_text
from eas.protocols.yaml_source import Path


class ShuffleChecks:
    """Part of the protocol checker (`crossref`): its state is the checker's; it comes before
    `SmsChecks`, whose `check_opening` it extends."""

    def check_shuffle(self, q_index: int, raw_q: dict[str, Any]) -> None:
        """`shuffle` lists name items of the questionnaire, an item in one list at most (the
        schema checks each list has two or more); `check_shuffled_list` checks each list."""
        lists = raw_q.get("shuffle")
        if not isinstance(lists, list):
            return
        positions = _positions(raw_q)
        listed: dict[str, int] = {}
        for number, ids in enumerate(lists):
            if not isinstance(ids, list):
                continue
            members: list[str] = []
            for index, item_id in enumerate(ids):
                path = ("questionnaires", q_index, "shuffle", number, index)
                if not isinstance(item_id, str):
                    continue
                if item_id not in positions:
                    known = ", ".join(sorted(positions)) or "none"
                    self.add(path, f"names unknown item '{item_id}' (items here: {known})")
                elif item_id in members:
                    self.add(path, f"'{item_id}' is in this list already")
                elif item_id in listed:
                    self.add(
                        path,
                        f"'{item_id}' is in shuffle[{listed[item_id]}] already: an item is "
                        "shuffled in one list at most",
                    )
                else:
                    listed[item_id] = number
                    members.append(item_id)
            if len(members) >= 2 and len(members) == len(ids):  # else reported already
                self.check_shuffled_list(q_index, raw_q, number, members)

    def check_shuffled_list(
        self, q_index: int, raw_q: dict[str, Any], number: int, members: list[str]
    ) -> None:
        """A shuffled list's items follow each other, and none depends on another (its show_if
        or a placeholder names it): the order drawn may show it first. A list holding the
        first item has no show_if: any of its items may open the prompt, and that one is
        always asked."""
        raw_items = as_list(raw_q.get("items"))
        positions = _positions(raw_q)
        spots = sorted(positions[item_id] for item_id in members)
        between = [
            str(raw_items[spot].get("id"))
            if isinstance(raw_items[spot], dict)
            else f"items[{spot}]"
            for spot in range(spots[0], spots[-1] + 1)
            if spot not in spots
        ]
        if between:
            one = len(between) == 1
            self.add(
                ("questionnaires", q_index, "shuffle", number),
                "the items of a shuffled list must follow each other in the questionnaire, but "
                f"{', '.join(between)} {'comes' if one else 'come'} between them: add "
                f"{'it' if one else 'them'} to the list or move {'it' if one else 'them'}",
            )
            return
        elsewhere = _ids_elsewhere(self.raw_questionnaires, raw_q)
        depends = (
            f"which is shuffled with this item (shuffle[{number}]): the order drawn may show this "
            "item first; take one of them out of the list"
        )
        for position in spots:
            raw_item = raw_items[position]
            path: Path = ("questionnaires", q_index, "items", position)
            others = set(members) - {raw_item["id"]}
            condition = raw_item.get("show_if")
            if isinstance(condition, str) and spots[0] == 0 and position > 0:
                self.add(
                    (*path, "show_if"),
                    f"shuffle[{number}] holds the first item, which opens the prompt and is always "
                    "asked: any item of the list may come first, so none of them can have a "
                    "show_if",
                )
            elif isinstance(condition, str):
                try:
                    names = expressions.parse(condition).name_offsets()
                except expressions.ExpressionError:
                    names = []  # reported by check_expression
                # A later item is refused already, as for any show_if.
                for name, offset in _first_of_each(names):
                    if name in others and positions[name] < position:
                        self.add((*path, "show_if"), f"names '{name}', {depends}", offset)
            for field in ("text", "sms_text"):
                text = raw_item.get(field)
                if not isinstance(text, str):
                    continue
                found = [(p.item_id, p.offset) for p in piping.placeholders(text)]
                for name, offset in _first_of_each(found):
                    # A later one is refused already, unless another questionnaire has it.
                    if name in others and (positions[name] < position or name in elsewhere):
                        self.add((*path, field), f"pipes '{name}', {depends}", offset)

    def check_opening(self, q_index: int, items: list[dict[str, Any] | None]) -> None:
        """The first text of an SMS prompt (`SmsChecks.check_opening`), also with each other
        item of a `shuffle` list holding the first item: the order drawn may put it first."""
        super().check_opening(q_index, items)
        found = _shuffled_first(self.raw_questionnaires[q_index])
        if found is None or not items or items[0] is None:
            return
        number, alternatives = found
        intro = self.sms_intro(q_index)
        limit = self.study["sms"]["max_segments"] if self.study else 2
        # Where the first item's own opening is too long, that is reported already.
        too_long = (
            intro is not None
            and count_segments(opening_text({"intro": intro[1], "items": items})).segments > limit
        )
        for position in alternatives:
            item = items[position] if position < len(items) else None
            if item is None:
                continue
            field = "sms_text" if "sms_text" in item else "text"
            for placeholder in piping.placeholders(item[field]):
                self.add(
                    ("questionnaires", q_index, "items", position, field),
                    f"shuffled with the first item (shuffle[{number}]), this item may open an SMS "
                    "prompt, whose first text is written when the prompt is sent and cannot show "
                    f"answers: move {{{placeholder.item_id}}} to an item after the list",
                    placeholder.offset,
                )
            if intro is None or too_long:
                continue
            path, text = intro
            first = [item, *items[1:]]
            count = count_segments(opening_text({"intro": text, "items": first}))
            if count.segments > limit and count_segments(text).segments <= limit:
                too_long = True
                self.add(
                    path,
                    f"sent with items[{position}] (shuffle[{number}] may put it first), this "
                    f"needs {count.segments} SMS segments ({count.units} {count.encoding} "
                    f"characters); the study allows {limit}",
                )


def _positions(raw_q: dict[str, Any]) -> dict[str, int]:
    """Item id -> its position in the questionnaire (the first, where an id repeats)."""
    positions: dict[str, int] = {}
    for position, item in enumerate(as_list(raw_q.get("items"))):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            positions.setdefault(item["id"], position)
    return positions


def _ids_elsewhere(raw_questionnaires: list[Any], raw_q: dict[str, Any]) -> set[str]:
    """The item ids of the other questionnaires."""
    return {
        item["id"]
        for other in raw_questionnaires
        if isinstance(other, dict) and other is not raw_q
        for item in as_list(other.get("items"))
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    }


def _first_of_each(names: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """(name, offset) pairs, the first of each name only."""
    first: dict[str, int] = {}
    for name, offset in names:
        first.setdefault(name, offset)
    return list(first.items())


def _shuffled_first(raw_q: dict[str, Any]) -> tuple[int, list[int]] | None:
    """The `shuffle` list holding the questionnaire's first item, if one does: its number and
    the positions of its other items (each of which the order drawn may put first)."""
    positions = _positions(raw_q)
    first = next((item_id for item_id, position in positions.items() if position == 0), None)
    for number, ids in enumerate(as_list(raw_q.get("shuffle"))):
        if isinstance(ids, list) and first is not None and first in ids:
            others = {positions[i] for i in ids if isinstance(i, str) and i in positions}
            return number, sorted(others - {0})
    return None
