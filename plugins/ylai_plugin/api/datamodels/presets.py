"""Request and response models of ``/presets``: saved parameter sets for any DAG with params."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ylai_operators.catalog import DagKind, script_dag_id
from ylai_plugin.api.datamodels.common import DagKindName
from ylai_plugin.api.datamodels.runs import KIND_DESCRIPTION, NAME_DESCRIPTION

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.()-]{0,127}$"
PresetSort = Literal["name", "-name", "updated_at", "-updated_at", "id", "-id"]
Visibility = Literal["private", "shared"]


class PresetIn(BaseModel):
    """A new preset. ``shared_with_role`` null keeps it private."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "small sample", "dag_id": script_dag_id("data_generator"), "params": {"rows": 10}}]
        },
    )

    name: str = Field(pattern=NAME_PATTERN)
    dag_id: str = Field(min_length=1, max_length=250)
    description: str = Field(default="", max_length=4000)
    params: dict[str, Any] = Field(default_factory=dict)
    shared_with_role: str | None = Field(default=None, min_length=1, max_length=64)


class PresetPatch(BaseModel):
    """Fields to change."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"params": {"rows": 20}, "shared_with_role": "Op"}]}
    )

    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=4000)
    params: dict[str, Any] | None = None
    shared_with_role: str | None = Field(default=None, min_length=1, max_length=64)


class PresetOut(BaseModel):
    """A preset as its readers see it.

    ``name`` is the preset's own; ``dag_kind`` and ``dag_name`` spell out ``dag_id``, so that
    no client slices ids.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "name": "small sample",
                    "dag_id": script_dag_id("data_generator"),
                    "dag_kind": DagKind.SCRIPT.value,
                    "dag_name": "data_generator",
                    "description": "Ten rows, for a smoke test",
                    "params": {"rows": 10, "api_token": "***"},
                    "owner": "alice",
                    "shared_with_role": "Op",
                    "visibility": "shared",
                    "editable": True,
                    "created_at": "2026-11-20T08:00:00Z",
                    "updated_at": "2026-11-21T10:30:00Z",
                }
            ]
        }
    )

    id: int
    name: str
    dag_id: str
    dag_kind: DagKindName | None = Field(default=None, description=KIND_DESCRIPTION)
    dag_name: str | None = Field(default=None, description=NAME_DESCRIPTION)
    description: str
    params: dict[str, Any]
    owner: str
    shared_with_role: str | None
    visibility: Visibility
    editable: bool = Field(description="Whether the caller may change or delete it (owner or Admin).")
    created_at: datetime
    updated_at: datetime
