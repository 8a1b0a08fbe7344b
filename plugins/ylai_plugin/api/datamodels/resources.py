"""Response models of ``/resources``: scripts ranked by peak RSS, CPU seconds and duration, with trends."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ylai_plugin.api.datamodels.common import DagKindName

#: ``ylai_plugin.domain.resources.RANGES`` (a test keeps the two equal).
RangeId = Literal["24h", "7d", "30d"]
#: ``ylai_plugin.domain.resources.SORT_KEYS``, each ascending or (``-`` first) descending.
OrderBy = Literal[
    "name",
    "-name",
    "runs",
    "-runs",
    "duration_p50",
    "-duration_p50",
    "duration_p95",
    "-duration_p95",
    "peak_rss_bytes_p50",
    "-peak_rss_bytes_p50",
    "peak_rss_bytes_p95",
    "-peak_rss_bytes_p95",
    "cpu_seconds_p50",
    "-cpu_seconds_p50",
    "cpu_seconds_p95",
    "-cpu_seconds_p95",
]

PERCENTILES_EXAMPLE: dict[str, Any] = {"count": 28, "p50": 52428800, "p95": 73400320}
METRIC_EXAMPLE: dict[str, Any] = {
    **PERCENTILES_EXAMPLE,
    "max": 80740352,
    "max_run_id": "manual__2026-11-27T09:30:00+00:00",
    "previous": {"count": 30, "p50": 50331648, "p95": 62914560},
    "change_p50": 0.0417,
    "change_p95": 0.1667,
}
TREND_EXAMPLE: dict[str, Any] = {
    "start": "2026-11-27T00:00:00Z",
    "runs": 4,
    "duration": {"count": 4, "p50": 12.4, "p95": 15.0},
    "peak_rss_bytes": {"count": 4, "p50": 52428800, "p95": 60817408},
    "cpu_seconds": {"count": 4, "p50": 8.1, "p95": 9.7},
}
SCRIPT_EXAMPLE: dict[str, Any] = {
    "name": "csv_profiler",
    "dag_id": "script__csv_profiler",
    "kind": "script",
    "title": "CSV profiler",
    "runs": 30,
    "failed": 2,
    "duration": {
        **METRIC_EXAMPLE,
        "count": 30,
        "p50": 12.3,
        "p95": 16.8,
        "max": 21.0,
        "previous": {"count": 30, "p50": 11.9, "p95": 15.2},
        "change_p50": 0.0336,
        "change_p95": 0.1053,
    },
    "peak_rss_bytes": METRIC_EXAMPLE,
    "cpu_seconds": {
        **METRIC_EXAMPLE,
        "p50": 8.2,
        "p95": 10.4,
        "max": 11.0,
        "previous": {"count": 30, "p50": 8.0, "p95": 9.9},
        "change_p50": 0.025,
        "change_p95": 0.0505,
    },
    "trend": [TREND_EXAMPLE],
}


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class ResourcePercentiles(BaseModel):
    """How many runs measured a figure, and its p50 and p95 (nearest rank)."""

    model_config = _example(PERCENTILES_EXAMPLE)

    count: int
    p50: float | None
    p95: float | None


class ResourceMetric(ResourcePercentiles):
    """One figure of a script over the range: percentiles, its peak, and the range before."""

    model_config = _example(METRIC_EXAMPLE)

    max: float | None = Field(description="The highest value in the range.")
    max_run_id: str | None = Field(description="The run that had the highest value.")
    previous: ResourcePercentiles = Field(description="The same figure over the range just before this one.")
    change_p50: float | None = Field(
        description="p50 relative to the previous range's (0.25: a quarter more); null without a previous p50."
    )
    change_p95: float | None = Field(description="p95 relative to the previous range's, like ``change_p50``.")


class TrendPoint(BaseModel):
    """One hour (range 24h) or day (7d, 30d; UTC) of a script's trend."""

    model_config = _example(TREND_EXAMPLE)

    start: datetime
    runs: int
    duration: ResourcePercentiles
    peak_rss_bytes: ResourcePercentiles
    cpu_seconds: ResourcePercentiles


class ScriptResources(BaseModel):
    """A script's resource use over the range."""

    model_config = _example(SCRIPT_EXAMPLE)

    name: str
    dag_id: str
    kind: DagKindName
    title: str
    runs: int = Field(description="Finished runs of the script's task (success or failed) due in the range.")
    failed: int
    duration: ResourceMetric = Field(description="The script task's duration, in seconds (failed runs included).")
    peak_rss_bytes: ResourceMetric = Field(
        description="Peak resident memory of the script's process tree, in bytes (successful runs only)."
    )
    cpu_seconds: ResourceMetric = Field(
        description="CPU time (user + system) of the script's process tree, in seconds (successful runs only)."
    )
    trend: list[TrendPoint] = Field(description="Every bucket of the range, oldest first.")


class ResourceRanking(BaseModel):
    """Scripts ranked by their resource use over a range."""

    model_config = _example(
        {
            "range": "7d",
            "bucket": "day",
            "since": "2026-11-20T09:30:00Z",
            "until": "2026-11-27T09:30:00Z",
            "previous_since": "2026-11-13T09:30:00Z",
            "generated_at": "2026-11-27T09:30:00Z",
            "order_by": "-peak_rss_bytes_p95",
            "total": 1,
            "truncated": False,
            "items": [SCRIPT_EXAMPLE],
        }
    )

    range: RangeId
    bucket: Literal["hour", "day"] = Field(description="The size of each trend point.")
    since: datetime
    until: datetime
    previous_since: datetime = Field(description="Where the previous range (compared with) starts; it ends at since.")
    generated_at: datetime
    order_by: OrderBy
    total: int = Field(description="Scripts that finished a run in the range (items holds the first limit of them).")
    truncated: bool = Field(description="Whether a range had more runs than are read, so only part of them counted.")
    items: list[ScriptResources]
