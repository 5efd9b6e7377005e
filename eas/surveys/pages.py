"""A questionnaire cut into pages, so branching works without JavaScript.

A page runs until an item whose `show_if` names an item of the same page: that item starts the
next page, whose items are shown or hidden by the answers already saved. Answers are saved page
by page, so a dropped connection loses one page at most.
"""

from __future__ import annotations

from typing import Any

from eas.protocols.expressions import parse


def pages_of(questionnaire: dict[str, Any]) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = [[]]
    for item in questionnaire["items"]:
        on_page = {other["id"] for other in pages[-1]}
        condition = item.get("show_if")
        if condition and on_page & set(parse(condition).item_ids):
            pages.append([])
        pages[-1].append(item)
    return pages


def page_of(questionnaire: dict[str, Any], item_id: str) -> tuple[int, list[dict[str, Any]]]:
    """The page (index from 0, and its items from `item_id` on) holding an item."""
    for index, page in enumerate(pages_of(questionnaire)):
        ids = [item["id"] for item in page]
        if item_id in ids:
            return index, page[ids.index(item_id) :]
    raise KeyError(item_id)


def visible(items: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a page that the saved answers show."""
    return [
        item for item in items if not item.get("show_if") or parse(item["show_if"]).evaluate(values)
    ]
