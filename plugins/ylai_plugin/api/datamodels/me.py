"""Response models of ``/me``: the caller, their ylai permissions and their rights on some DAGs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ylai_operators.catalog import script_dag_id
from ylai_plugin.domain.access import Action


class DagRights(BaseModel):
    """What the caller may do with one DAG."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"read": True, "run": False, "logs": True}]})

    read: bool
    run: bool
    logs: bool


class Me(BaseModel):
    """The caller and their permissions."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "olga",
                    "roles": ["Op"],
                    "permissions": {
                        "tasks": ["read", "create", "edit", "delete"],
                        "scripts": ["read"],
                        "presets": ["read", "create", "edit", "delete"],
                        "monitor": ["read"],
                        "alerts": ["read", "create", "edit", "delete"],
                        "reports": ["read", "create"],
                        "pipelines": ["read", "create", "edit"],
                    },
                    "dags": {script_dag_id("disk_usage"): {"read": True, "run": True, "logs": True}},
                    "may_manage_access": False,
                    "trace_url_template": "http://localhost:16686/trace/{trace_id}",
                }
            ]
        }
    )

    username: str
    roles: list[str]
    permissions: dict[str, list[Action]] = Field(description="Allowed actions per ylai resource.")
    dags: dict[str, DagRights] = Field(default_factory=dict, description="For each `dag_id` asked for.")
    may_manage_access: bool = Field(
        default=False, description="Whether the caller may read and change the access matrix (`/access`)."
    )
    trace_url_template: str | None = Field(
        default=None,
        description="Link to a run's trace, `{trace_id}` standing for the run's `trace_id` "
        "(`[ylai] trace_url_template`); null when none is configured.",
    )
