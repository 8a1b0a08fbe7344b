"""One page of rows and the number of matches, in one query: the SQL behind every list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select


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
