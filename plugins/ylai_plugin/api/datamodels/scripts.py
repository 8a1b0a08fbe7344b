"""Request and response models of ``/scripts``: the registry, run statistics, database scripts and versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ylai_operators.catalog import DagKind, script_dag_id
from ylai_plugin.api.datamodels.common import DagCatalogEntry, DagKindName

STATS_EXAMPLE: dict[str, Any] = {
    "runs": 40,
    "succeeded": 38,
    "failed": 2,
    "success_rate": 0.95,
    "last_run_state": "success",
    "last_run_at": "2026-11-27T09:30:00Z",
}
RESOURCE_EXAMPLE: dict[str, Any] = {
    "run_id": "manual__2026-11-27T09:30:00.123456+00:00",
    "state": "success",
    "start_date": "2026-11-27T09:30:01Z",
    "duration_seconds": 3.5,
    "exit_code": 0,
    "peak_rss_bytes": 5242880,
    "cpu_seconds": 0.4,
    "script_version": "2",
}
SCRIPT_EXAMPLE: dict[str, Any] = {
    "name": "disk_usage",
    "dag_id": script_dag_id("disk_usage"),
    "kind": DagKind.SCRIPT.value,
    "title": "Disk usage",
    "description": "The largest directories under a path.",
    "owner": "ops",
    "tags": ["monitoring"],
    "runtime": "bash",
    "source": "repository",
    "version": None,
    "params_schema": {
        "type": "object",
        "properties": {"top": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}},
        "required": [],
        "additionalProperties": False,
    },
    "outputs": {"largest": {"type": "string", "description": "The largest directory."}},
    "timeout_seconds": 600.0,
    "retries": 1,
    "sensitive": False,
    "stats": STATS_EXAMPLE,
}
VERSION_EXAMPLE: dict[str, Any] = {
    "version": 2,
    "comment": "simpler",
    "created_by": "admin",
    "created_at": "2026-11-27T09:30:00Z",
}
KIND_DESCRIPTION = "The DAG's kind (``script``), so that clients need not slice ``dag_id``."
SCRIPT_VERSION_DESCRIPTION = (
    "The version of the script the run ran: a database script's number (``3``), or ``sha256:<12 hex>`` "
    "of a repository script's file; null for other DAGs and runs whose script has not started."
)
DIGEST_EXAMPLE = "sha256:3f79bb7b435b"
SCRIPT_VERSION_EXAMPLE: dict[str, Any] = {
    **VERSION_EXAMPLE,
    "digest": DIGEST_EXAMPLE,
    "size_bytes": 142,
    "current": True,
}


class OutputOut(BaseModel):
    """A declared output."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"type": "string", "description": "The largest directory."}]}
    )

    type: str
    description: str | None = None


class RunStats(BaseModel):
    """How a script's runs went."""

    model_config = ConfigDict(json_schema_extra={"examples": [STATS_EXAMPLE]})

    runs: int = Field(description="Finished runs counted (success + failed).")
    succeeded: int
    failed: int
    success_rate: float | None = Field(description="succeeded / runs, null without finished runs.")
    last_run_state: str | None = None
    last_run_at: datetime | None = None


class ResourceUse(BaseModel):
    """Resource use of one run, measured by the ScriptOperator over the script's process tree."""

    model_config = ConfigDict(json_schema_extra={"examples": [RESOURCE_EXAMPLE]})

    run_id: str
    state: str | None
    start_date: datetime | None
    duration_seconds: float | None
    exit_code: int | None = None
    peak_rss_bytes: int | None = None
    cpu_seconds: float | None = None
    script_version: str | None = Field(default=None, description=SCRIPT_VERSION_DESCRIPTION)


class ScriptOut(DagCatalogEntry):
    """A script of the registry."""

    model_config = ConfigDict(json_schema_extra={"examples": [SCRIPT_EXAMPLE]})

    kind: DagKindName = Field(description=KIND_DESCRIPTION)
    runtime: str
    source: Literal["repository", "database"] = "repository"
    version: int | None = Field(default=None, description="Current version, for scripts stored in the database.")
    params_schema: dict[str, Any] = Field(description="JSON Schema (object) of the script's parameters.")
    outputs: dict[str, OutputOut]
    timeout_seconds: float
    retries: int
    sensitive: bool
    stats: RunStats


class ScriptDetail(ScriptOut):
    """A script with its recent runs."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**SCRIPT_EXAMPLE, "recent_runs": [RESOURCE_EXAMPLE]}]})

    recent_runs: list[ResourceUse]


class ScriptIn(BaseModel):
    """A script to store in the database: it becomes ``script__<name>`` like a repository script."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "hello_api",
                    "runtime": "python",
                    "content": "import json, os\nopen(os.environ['YLAI_RESULT_FILE'], 'w')"
                    ".write(json.dumps({'ok': True}))\n",
                    "manifest": {"title": "Hello", "params": {"who": {"type": "string", "default": "world"}},
                                 "outputs": {"ok": {"type": "boolean"}}},
                }
            ]
        },
    )  # fmt: skip

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    runtime: Literal["python", "bash", "executable"]
    content: str = Field(min_length=1, max_length=1_000_000)
    manifest: dict[str, Any] = Field(default_factory=dict, description="The YAML manifest's fields, as JSON.")
    comment: str = Field(default="", max_length=2000, description="What this version changes.")


class ScriptVersionIn(BaseModel):
    """A new version of a database script."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"content": "print('v2')\n", "manifest": {}, "comment": "simpler"}]},
    )

    content: str = Field(min_length=1, max_length=1_000_000)
    manifest: dict[str, Any] = Field(default_factory=dict)
    comment: str = Field(default="", max_length=2000)


class VersionOut(BaseModel):
    """One stored version."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [VERSION_EXAMPLE]})

    version: int
    comment: str
    created_by: str
    created_at: datetime


class DbScriptOut(BaseModel):
    """A database script after a change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "hello_api",
                    "dag_id": script_dag_id("hello_api"),
                    "kind": DagKind.SCRIPT.value,
                    "runtime": "python",
                    "current_version": 2,
                    "versions": [
                        {**VERSION_EXAMPLE, "version": 1, "comment": "", "created_at": "2026-11-26T16:00:00Z"},
                        VERSION_EXAMPLE,
                    ],
                }
            ]
        }
    )

    name: str
    dag_id: str
    kind: DagKindName = Field(description=KIND_DESCRIPTION)
    runtime: str
    current_version: int
    versions: list[VersionOut]


class RestoreIn(BaseModel):
    """Why an old version is restored."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"comment": "back to one node"}]})

    comment: str = Field(
        default="", max_length=2000, description='The new version\'s comment; empty: "Restore of version <v>".'
    )


class ScriptVersionOut(VersionOut):
    """One stored version of a database script, as listed: who, when, why, and a digest of its content."""

    model_config = ConfigDict(from_attributes=False, json_schema_extra={"examples": [SCRIPT_VERSION_EXAMPLE]})

    digest: str = Field(description="``sha256:<12 hex digits>`` of the content: equal digests, equal scripts.")
    size_bytes: int = Field(description="Size of the content in bytes (UTF-8).")
    current: bool = Field(description="Whether this is the version that runs now.")


class ScriptVersionDetail(ScriptVersionOut):
    """One stored version of a database script with its content and manifest."""

    model_config = ConfigDict(
        from_attributes=False,
        json_schema_extra={
            "examples": [
                {
                    **SCRIPT_VERSION_EXAMPLE,
                    "runtime": "python",
                    "content": "print('v2')\n",
                    "manifest": {"title": "Hello", "params": {"who": {"type": "string", "default": "world"}}},
                }
            ]
        },
    )

    runtime: str
    content: str = Field(description="The script itself.")
    manifest: dict[str, Any] = Field(description="The manifest's fields, as JSON (without name and runtime).")
