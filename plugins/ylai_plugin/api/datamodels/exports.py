"""Request and response models of ``/exports``: the query of a direct download, export jobs, summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ylai_plugin.reports.filters import ExportFilters, Format, Kind
from ylai_plugin.reports.i18n import Language


class ExportQuery(ExportFilters):
    """Query parameters of a direct download: the filters plus format and language."""

    format: Format = Field(default="csv", description="csv (streamed), xlsx or pdf.")
    language: Language = Field(default="en", description="Language of headers, titles and labels.")

    def filters(self) -> ExportFilters:
        """The filters alone."""
        return ExportFilters.model_validate(self.model_dump(exclude={"format", "language"}))


class ExportJobIn(BaseModel):
    """An export to run in the background."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "runs", "format": "xlsx", "language": "zh-CN", "filters": {"month": "2026-11"}},
                {"kind": "tasks", "format": "csv", "filters": {"since": "2026-11-01T00:00:00Z", "state": ["failed"]}},
            ]
        },
    )

    kind: Kind
    format: Format = "csv"
    language: Language = "en"
    filters: ExportFilters = Field(default_factory=ExportFilters)


class ExportJobOut(BaseModel):
    """An export job with its progress and, once finished, its download link."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "kind": "runs",
                    "format": "xlsx",
                    "language": "en",
                    "filters": {"month": "2026-11"},
                    "state": "running",
                    "rows_done": 420000,
                    "rows_total": 1000000,
                    "progress": 0.42,
                    "file_name": None,
                    "size_bytes": None,
                    "error": None,
                    "download_url": None,
                    "created_by": "alice",
                    "created_at": "2026-11-28T00:10:00Z",
                    "started_at": "2026-11-28T00:10:01Z",
                    "finished_at": None,
                }
            ]
        }
    )

    id: int
    kind: str
    format: str
    language: str
    filters: dict[str, Any]
    state: Literal["queued", "running", "success", "failed"]
    rows_done: int
    rows_total: int | None
    progress: float | None = Field(description="rows_done / rows_total, 1.0 when finished; null before counting.")
    file_name: str | None
    size_bytes: int | None
    error: str | None = Field(description="Why the job failed (or that its file was deleted after retention).")
    download_url: str | None = Field(
        description="Path of the file download, once the job succeeded (null again once the file expired)."
    )
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


TABLE_EXAMPLE: dict[str, Any] = {
    "title": "Overview",
    "headers": ["Item", "Value"],
    "rows": [["Runs", 120], ["Succeeded", 100], ["Failed", 20], ["Success rate", 0.8333]],
}
CHART_EXAMPLE: dict[str, Any] = {
    "type": "bar",
    "title": "Runs per day",
    "categories": ["11-01", "11-02"],
    "series": {"Succeeded": [4.0, 6.0], "Failed": [1.0, 0.0]},
}


class SummaryTableOut(BaseModel):
    """One summary table, translated."""

    model_config = ConfigDict(json_schema_extra={"examples": [TABLE_EXAMPLE]})

    title: str
    headers: list[str]
    rows: list[list[Any]]


class ChartOut(BaseModel):
    """One chart's data, translated."""

    model_config = ConfigDict(json_schema_extra={"examples": [CHART_EXAMPLE]})

    type: str
    title: str
    categories: list[str]
    series: dict[str, list[float]]


class ExportSummary(BaseModel):
    """What a report's Summary sheet shows, as JSON (for chat messages and previews)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "runs",
                    "title": "Runs report",
                    "language": "en",
                    "since": "2026-11-01T00:00:00Z",
                    "until": "2026-12-01T00:00:00Z",
                    "rows": 120,
                    "tables": [TABLE_EXAMPLE],
                    "charts": [CHART_EXAMPLE],
                }
            ]
        }
    )

    kind: str
    title: str
    language: str
    since: datetime
    until: datetime
    rows: int = Field(description="Detail rows an export would contain.")
    tables: list[SummaryTableOut]
    charts: list[ChartOut]
