"""Request and response models of ``/usage``: the page-view beacon, usage statistics and click heatmaps.

The beacon's models carry no text: ``extra="forbid"`` everywhere, the page must be one of
``pages.json``'s ids, the region one of :data:`~ylai_plugin.domain.usage.REGIONS`, positions
numbers in 0..1 (strict: a string is refused, not converted). So no input value, keystroke or
other text can ride along in an event (tests/unit/ylai_plugin/api/routes/test_usage.py checks it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ylai_plugin.domain import usage
from ylai_plugin.domain.errors import text

Region = Literal["topbar", "nav", "header", "main", "aside", "footer", "dialog"]
EventType = Literal["page_view", "click"]


class UsageEventIn(BaseModel):
    """One beacon event: a page view, or a click at a position of a layout region."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"type": "click", "page": "run", "region": "main", "x": 0.42, "y": 0.13}]},
    )

    type: EventType
    page: str = Field(
        pattern=r"^[a-z][a-z0-9_-]{0,63}$",
        description="A page id of ylai's pages (pages.json), e.g. `run`; no ids, no query strings.",
    )
    ts: datetime | None = Field(
        default=None, description="When it happened; the server's time is used when missing or not within 24 h."
    )
    region: Region | None = Field(default=None, description="Clicks only: the layout region clicked.")
    x: float | None = Field(
        default=None, ge=0, le=1, strict=True, description="Clicks only: horizontal position in the region, 0..1."
    )
    y: float | None = Field(
        default=None, ge=0, le=1, strict=True, description="Clicks only: vertical position in the region, 0..1."
    )

    @field_validator("page")
    @classmethod
    def _known_page(cls, value: str) -> str:
        if value not in usage.pages():
            raise ValueError(
                text("usage.unknown_page", "not a ylai page; one of {pages}", pages=", ".join(sorted(usage.pages())))
            )
        return value

    @model_validator(mode="after")
    def _click_has_a_position(self) -> Self:
        where = (self.region, self.x, self.y)
        if self.type == "click" and any(v is None for v in where):
            raise ValueError(text("usage.click_position", "a click needs region, x and y"))
        if self.type == "page_view" and any(v is not None for v in where):
            raise ValueError(text("usage.page_view_position", "a page view has no region, x or y"))
        return self


class UsageBatch(BaseModel):
    """Up to 50 events, sent together."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {"type": "page_view", "page": "run"},
                        {"type": "click", "page": "run", "region": "main", "x": 0.42, "y": 0.13},
                    ]
                }
            ]
        },
    )

    events: list[UsageEventIn] = Field(min_length=1, max_length=usage.MAX_BATCH)


class UsageAccepted(BaseModel):
    """How many events of the batch were recorded (0 when usage statistics are off or the day's cap is reached)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"accepted": 2, "enabled": True}]})

    accepted: int
    enabled: bool = True
    """False when ``[ylai] usage_enabled`` is off: the beacon stops sending (0 accepted alone may be the cap)."""


class PageViews(BaseModel):
    """Views of one page and how many people viewed it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"page": "run", "views": 120, "users": 8}]})

    page: str
    views: int
    users: int


class FeatureUse(BaseModel):
    """Uses of a feature from one source."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"feature": "run", "source": "ui", "count": 40}]})

    feature: Literal["run", "preset", "export", "editor_save"]
    source: Literal["ui", "api", "schedule"]
    count: int


class DailyActive(BaseModel):
    """People of a role active on a day."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"day": "2026-12-05", "role": "User", "users": 5}]})

    day: date
    role: str
    users: int


class WeeklyActive(BaseModel):
    """People of a role active in a week (starting on Monday)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"week": "2026-11-30", "role": "User", "users": 9}]})

    week: date
    role: str
    users: int


class TopDag(BaseModel):
    """A script or pipeline with its runs (from the UI and the API) and how many people ran it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"dag_id": "script__etl", "name": "etl", "runs": 30, "users": 4}]}
    )

    dag_id: str
    name: str
    runs: int
    users: int


class FirstRun(BaseModel):
    """Time from a new user's first visit to their first run, over users first seen in the period."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "new_users": 5,
                    "users_with_run": 4,
                    "median_seconds": 600.0,
                    "p90_seconds": 3600.0,
                    "mean_seconds": 900.0,
                }
            ]
        }
    )

    new_users: int
    users_with_run: int
    median_seconds: float | None = None
    p90_seconds: float | None = None
    mean_seconds: float | None = None


class UsageStats(BaseModel):
    """The Insights page's figures for a period."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2026-11-07",
                    "end": "2026-12-06",
                    "enabled": True,
                    "page_views": [{"page": "run", "views": 120, "users": 8}],
                    "features": [{"feature": "run", "source": "ui", "count": 40}],
                    "daily_active": [{"day": "2026-12-05", "role": "User", "users": 5}],
                    "weekly_active": [{"week": "2026-11-30", "role": "User", "users": 9}],
                    "top_scripts": [{"dag_id": "script__etl", "name": "etl", "runs": 30, "users": 4}],
                    "top_pipelines": [{"dag_id": "pipeline__daily", "name": "daily", "runs": 10, "users": 2}],
                    "first_run": {
                        "new_users": 5,
                        "users_with_run": 4,
                        "median_seconds": 600.0,
                        "p90_seconds": 3600.0,
                        "mean_seconds": 900.0,
                    },
                }
            ]
        }
    )

    start: date
    end: date
    enabled: bool = Field(description="Whether usage statistics are being recorded now ([ylai] usage_enabled).")
    page_views: list[PageViews]
    features: list[FeatureUse]
    daily_active: list[DailyActive]
    weekly_active: list[WeeklyActive]
    top_scripts: list[TopDag]
    top_pipelines: list[TopDag]
    first_run: FirstRun


class HeatmapCell(BaseModel):
    """Clicks in one bucket of a region: ``x``, ``y`` in 0..buckets-1, from the region's top left."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"region": "main", "x": 8, "y": 2, "count": 17}]})

    region: Region
    x: int
    y: int
    count: int


class Heatmap(BaseModel):
    """A page's clicks in a period, per region and position bucket."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "page": "run",
                    "start": "2026-11-07",
                    "end": "2026-12-06",
                    "buckets": 20,
                    "cells": [{"region": "main", "x": 8, "y": 2, "count": 17}],
                    "total": 17,
                }
            ]
        }
    )

    page: str
    start: date
    end: date
    buckets: int
    cells: list[HeatmapCell]
    total: int
