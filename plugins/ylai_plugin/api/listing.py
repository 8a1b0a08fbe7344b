"""Pagination and sorting shared by ylai's list endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from ylai_plugin.api.errors import ApiError

T = TypeVar("T")


# Ids and offsets beyond a signed 32-bit integer would overflow SQLite's INTEGER (a 500).
MAX_INT = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_INT, description="The numeric id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="Items to skip.")]


def _page_example(schema: dict[str, Any], model: type[Any]) -> None:
    """A page's example: one item, the item model's own example."""
    item_type = getattr(model, "__pydantic_generic_metadata__", {}).get("args", ())
    extra = getattr(item_type[0], "model_config", {}).get("json_schema_extra") if item_type else None
    items = extra.get("examples", [])[:1] if isinstance(extra, dict) else []
    schema["examples"] = [{"items": items, "total": 42 if items else 0, "limit": 50, "offset": 0}]


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total number of matching items."""

    model_config = ConfigDict(json_schema_extra=_page_example)

    items: list[T]
    total: int = Field(description="Items matching the filters, across all pages.", examples=[42])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])


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


class PartialPage(BaseModel):
    """A page whose items hold only the fields asked for with ``fields=``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [{"id": 12, "name": "nightly profile"}], "total": 42, "limit": 50, "offset": 0}]
        }
    )

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


FIELDS_DESCRIPTION = "Comma-separated item fields to return, e.g. `id,name`; default: all fields."


class PreRenderedJSON(JSONResponse):
    """A JSON response whose body is already rendered (bytes are sent as they are)."""

    def render(self, content: Any) -> bytes:
        """``content`` itself when it is bytes, else JSON as usual."""
        return content if isinstance(content, bytes) else super().render(content)


def pick_fields(page: Page[Any], fields: str | None, model: type[BaseModel]) -> BaseModel:
    """The page, or a page of only the requested item fields (422 on an unknown one)."""
    if not fields:
        return page
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = sorted(set(wanted) - set(model.model_fields))
    if unknown or not wanted:
        allowed = ", ".join(model.model_fields)
        reason = f"unknown field(s): {', '.join(unknown)}" if unknown else "no field named"
        raise ApiError(422, "Invalid input", [{"field": "query.fields", "reason": f"{reason}; choose from {allowed}"}])
    items = [item.model_dump(mode="json", include=set(wanted)) for item in page.items]
    return PartialPage(items=items, total=page.total, limit=page.limit, offset=page.offset)


def select_fields(page: Page[Any], fields: str | None, model: type[BaseModel]) -> JSONResponse:
    """:func:`pick_fields`, as a response.

    The page was validated when it was built: it is serialized once here, not validated again
    against the route's ``response_model`` (for 50 items, that costs more than the queries).
    """
    return PreRenderedJSON(pick_fields(page, fields, model).model_dump_json().encode())
