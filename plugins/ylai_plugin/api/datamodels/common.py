"""Models shared by every resource: a page of a list, a page of only some fields, a DAG's kind, a catalog entry."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue

from ylai_operators.catalog import DagKind

T = TypeVar("T")


class _DagKindExample:
    """Gives the ``DagKind`` component of the OpenAPI document its example (every component has one)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        handler.resolve_ref_schema(json_schema)["examples"] = [DagKind.SCRIPT.value]
        return json_schema


# ylai_operators.naming.DagKind as a field type: the ``DagKind`` enum component, with an example.
DagKindName = Annotated[DagKind, _DagKindExample()]


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


class DagCatalogEntry(BaseModel):
    """The fields that lead every generated DAG of the catalog: a script's, a pipeline's.

    Subclasses restate ``kind`` with their own description; the order of the fields stays this one.
    """

    name: str
    dag_id: str
    kind: DagKindName = Field(description="The DAG's kind, so that clients need not slice ``dag_id``.")
    title: str
    description: str
    owner: str
    tags: list[str]
