"""Pagination and sorting shared by ylai's list endpoints."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total number of matching items."""

    items: list[T]
    total: int = Field(description="Items matching the filters, across all pages.", examples=[42])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])


def order_clause(model: Any, order_by: str) -> list[Any]:
    """``name`` sorts ascending, ``-name`` descending; ``id`` breaks ties so pages are stable."""
    column = getattr(model, order_by.lstrip("-"))
    primary = column.desc() if order_by.startswith("-") else column.asc()
    return [primary, model.id.desc() if order_by.startswith("-") else model.id.asc()]
