"""Request and response models of ``/feedback``: what people say from ylai's pages."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Postgres text cannot hold NUL characters: refused up front (422), not a 500 from the database.
from ylai_plugin.api.datamodels.alerts import NO_NUL

FeedbackSort = Literal["created_at", "-created_at", "rating", "-rating"]


class FeedbackIn(BaseModel):
    """A new feedback: a rating, a comment, the page it was given on and the app's version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"rating": 4, "comment": "The run form is great", "page": "run", "app_version": "0.9.0"}]
        },
    )

    rating: int = Field(ge=1, le=5, description="1 (bad) to 5 (great).")
    comment: str = Field(default="", max_length=2000, pattern=NO_NUL)
    page: str = Field(
        min_length=1, max_length=200, pattern=NO_NUL, description="The ylai page it was given on (its id, e.g. `run`)."
    )
    app_version: str = Field(min_length=1, max_length=64, pattern=NO_NUL, description="The UI's version.")
    last_error: str | None = Field(
        default=None, max_length=500, pattern=NO_NUL, description="The last error the page showed, if any."
    )


class FeedbackPatch(BaseModel):
    """What an Admin changes: handled or not, and a reply note."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"handled": True, "reply_note": "Fixed in 0.9.1"}]}
    )

    handled: bool | None = None
    reply_note: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


class FeedbackOut(BaseModel):
    """A stored feedback."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "created_at": "2026-12-06T03:00:00Z",
                    "user": "alice",
                    "rating": 4,
                    "comment": "The run form is great",
                    "page": "run",
                    "app_version": "0.9.0",
                    "last_error": None,
                    "handled": False,
                    "reply_note": None,
                    "handled_by": None,
                    "handled_at": None,
                }
            ]
        }
    )

    id: int
    created_at: datetime
    user: str
    rating: int
    comment: str
    page: str
    app_version: str
    last_error: str | None = None
    handled: bool
    reply_note: str | None = None
    handled_by: str | None = None
    handled_at: datetime | None = None
