"""One page of rows and the number of matches, in one query: the SQL behind every list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select


@dataclass(frozen=True)
class PageQuery:
    """Which page of a list: its size, where it starts and the sort key (``name``, ``-updated_at``)."""

    limit: int
    offset: int
    order_by: str


def given_equal(*pairs: tuple[Any, Any]) -> list[Any]:
    """``column == value`` for each (column, value) whose value was given (neither None nor empty)."""
    return [column == value for column, value in pairs if value]


def name_contains(column: Any, text: str) -> Any:
    """``column`` contains ``text``, case-insensitively, ``%`` and ``_`` taken literally."""
    return func.lower(column).contains(text.lower(), autoescape=True)


def order_clause(model: Any, order_by: str) -> list[Any]:
    """``name`` sorts ascending, ``-name`` descending; ``id`` breaks ties so pages are stable."""
    column = getattr(model, order_by.lstrip("-"))
    primary = column.desc() if order_by.startswith("-") else column.asc()
    return [primary, model.id.desc() if order_by.startswith("-") else model.id.asc()]


def fetch_page(
    session: Any, model: Any, where: list[Any], order_by: str, limit: int, offset: int
) -> tuple[list[Any], int]:
    """One page of ``model`` entities and the number of matches across all pages.

    The total rides along as a window count, so a page costs one query, not a count and then
    a select. Only an empty page past the end needs the count on its own.
    """
    found = session.execute(
        select(model, func.count().over().label("total"))
        .where(*where)
        .order_by(*order_clause(model, order_by))
        .limit(limit)
        .offset(offset)
    ).all()
    if found:
        return [row[0] for row in found], int(found[0].total)
    if offset:
        return [], int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
    return [], 0
