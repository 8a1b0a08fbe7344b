"""Query parameters of ylai's list endpoints (paging, ``fields=``) and their cached, pre-rendered answers.

The page models are in :mod:`ylai_plugin.api.datamodels.common`, the paged SQL in
:mod:`ylai_plugin.domain.paging`, the cache in :mod:`ylai_plugin.domain.list_cache`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ylai_plugin.api.datamodels.common import Page, PartialPage
from ylai_plugin.domain.errors import Invalid, text
from ylai_plugin.domain.list_cache import cached_json

# Ids and offsets beyond a signed 32-bit integer would overflow SQLite's INTEGER (a 500).
MAX_INT = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_INT, description="The numeric id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="Items to skip.")]
VersionPath = Annotated[int, Path(ge=1, le=MAX_INT, description="A version number (1 is the first).")]


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
        if unknown:
            reason = text(
                "fields.unknown",
                "unknown field(s): {unknown}; choose from {allowed}",
                unknown=", ".join(unknown),
                allowed=allowed,
            )
        else:
            reason = text("fields.none", "no field named; choose from {allowed}", allowed=allowed)
        raise Invalid.at("query.fields", reason)
    items = [item.model_dump(mode="json", include=set(wanted)) for item in page.items]
    return PartialPage(items=items, total=page.total, limit=page.limit, offset=page.offset)


def select_fields(page: Page[Any], fields: str | None, model: type[BaseModel]) -> JSONResponse:
    """:func:`pick_fields`, as a response.

    The page was validated when it was built: it is serialized once here, not validated again
    against the route's ``response_model`` (for 50 items, that costs more than the queries).
    """
    return PreRenderedJSON(pick_fields(page, fields, model).model_dump_json().encode())


def cached_read(
    request: Request, user: Any, groups: Iterable[str], compute: Callable[[Any], BaseModel]
) -> PreRenderedJSON:
    """The JSON of ``compute(session)`` for this request, from the per-user list cache when fresh.

    See :func:`ylai_plugin.domain.list_cache.cached_json`: the path and query string of the
    request name the answer; ``groups`` are the tables whose change counters it follows.
    """
    return PreRenderedJSON(cached_json(request.url.path, request.query_params.multi_items(), user, groups, compute))
