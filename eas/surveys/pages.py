"""A questionnaire cut into pages, so branching works without JavaScript.

A page runs until an item whose `show_if` names an item of the same page: that item starts the
next page, whose items are shown or hidden by the answers already saved. Answers are saved page
by page, so a dropped connection loses one page at most.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, NamedTuple

from eas.protocols.expressions import parse


class Page(NamedTuple):
    #: From 1.
    number: int
    count: int
    #: The items it shows, from the current one on.
    items: list[dict[str, Any]]


def pages_of(questionnaire: dict[str, Any]) -> list[list[dict[str, Any]]]:
    items = questionnaire["items"]
    starts = _page_starts(tuple((item["id"], item.get("show_if")) for item in items))
    return [items[start:end] for start, end in itertools.pairwise((*starts, len(items)))]


@functools.lru_cache(maxsize=256)
def _page_starts(items: tuple[tuple[str, str | None], ...]) -> tuple[int, ...]:
    """Where each page starts, from the items' (id, show_if): every page shown reads them, and
    the names a condition uses are found by walking its syntax tree."""
    starts = [0]
    on_page: set[str] = set()
    for index, (item_id, condition) in enumerate(items):
        if condition and on_page & set(parse(condition).item_ids):
            starts.append(index)
            on_page = set()
        on_page.add(item_id)
    return tuple(starts)


def current_page(questionnaire: dict[str, Any], item_id: str, values: dict[str, Any]) -> Page:
    """The page holding `item_id`, from that item on, as the saved answers `values` show it."""
    pages = pages_of(questionnaire)
    for index, page in enumerate(pages):
        ids = [item["id"] for item in page]
        if item_id in ids:
            return Page(index + 1, len(pages), visible(page[ids.index(item_id) :], values))
    raise KeyError(item_id)


def visible(items: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a page that the saved answers show."""
    return [
        item for item in items if not item.get("show_if") or parse(item["show_if"]).evaluate(values)
    ]
