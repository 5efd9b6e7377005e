"""A questionnaire cut into pages, so branching works without JavaScript.

A page runs until an item whose `show_if` names an item of the same page, or whose text pipes
the answer to one (`{item_id}`): that item starts the next page, whose items are shown or hidden
(and whose texts are written) by the answers already saved. Answers are saved page by page, so a
dropped connection loses one page at most.

The questionnaire is the one the prompt presents (`responses.context.presented`): its branching
also sees the prompt's place in the day, its texts the participant's earlier answers, and its
items are in the prompt's order (`shuffle`), so its pages are cut, and shown, in that order.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, NamedTuple

from eas.protocols import piping
from eas.protocols.expressions import parse
from eas.responses import context


class Page(NamedTuple):
    #: From 1.
    number: int
    count: int
    #: The items it shows, from the current one on.
    items: list[dict[str, Any]]


def pages_of(questionnaire: dict[str, Any]) -> list[list[dict[str, Any]]]:
    items = questionnaire["items"]
    starts = _page_starts(tuple((item["id"], item.get("show_if"), item["text"]) for item in items))
    return [items[start:end] for start, end in itertools.pairwise((*starts, len(items)))]


@functools.lru_cache(maxsize=256)
def _page_starts(items: tuple[tuple[str, str | None, str], ...]) -> tuple[int, ...]:
    """Where each page starts, from the items' (id, show_if, text): every page shown reads
    them, and the names a condition uses are found by walking its syntax tree, those a text
    pipes by reading its template."""
    starts = [0]
    on_page: set[str] = set()
    for index, (item_id, condition, text) in enumerate(items):
        needs = set(parse(condition).item_ids) if condition else set()
        if "{" in text:
            needs |= {placeholder.item_id for placeholder in piping.placeholders(text)}
        if on_page & needs:
            starts.append(index)
            on_page = set()
        on_page.add(item_id)
    return tuple(starts)


def current_page(questionnaire: dict[str, Any], item_id: str, values: dict[str, Any]) -> Page:
    """The page holding `item_id`, from that item on, as the saved answers `values` show it:
    its items each with its text as shown (what it pipes filled in)."""
    pages = pages_of(questionnaire)
    values = context.branching_values(questionnaire, values)
    for index, page in enumerate(pages):
        ids = [item["id"] for item in page]
        if item_id in ids:
            shown = visible(page[ids.index(item_id) :], values)
            return Page(index + 1, len(pages), [_as_shown(questionnaire, i, values) for i in shown])
    raise KeyError(item_id)


def _as_shown(
    questionnaire: dict[str, Any], item: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """The item with its text as the page shows it (the page escapes it, as all text)."""
    text = context.shown_text(questionnaire, item["text"], values)
    return item if text == item["text"] else {**item, "text": text}


def visible(items: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a page that the saved answers (and the prompt's place in the day, where
    `values` hold it) show."""
    return [
        item for item in items if not item.get("show_if") or parse(item["show_if"]).evaluate(values)
    ]
