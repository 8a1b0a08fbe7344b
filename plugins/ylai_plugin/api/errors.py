"""One error envelope for every ylai response: ``{"error": {"code", "message", "details"}}``.

FastAPI's defaults (``{"detail": ...}``, plain-text 500s) are replaced so clients
parse one shape, and invalid input names each field with its reason.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    """What went wrong."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "invalid_input",
                    "message": "Invalid input",
                    "details": [{"field": "body.name", "reason": "Field required"}],
                }
            ]
        }
    )

    code: str = Field(examples=["invalid_input"])
    message: str = Field(examples=["Invalid input"])
    details: Any = Field(default=None, examples=[[{"field": "body.name", "reason": "Field required"}]])


class ErrorResponse(BaseModel):
    """The error envelope."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "invalid_input",
                        "message": "Invalid input",
                        "details": [{"field": "body.name", "reason": "Field required"}],
                    }
                },
                {"error": {"code": "not_found", "message": "Task 42 not found", "details": None}},
            ]
        }
    )

    error: ErrorBody


class ApiError(Exception):
    """Raise to answer with the envelope."""

    def __init__(self, status: int, message: str, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.code = code or CODES.get(status, "error")
        self.headers: dict[str, str] = {}

    def with_headers(self, headers: dict[str, str]) -> ApiError:
        """Return this error with extra response headers (e.g. ``Retry-After``)."""
        self.headers.update(headers)
        return self


def not_found(kind: str, key: object) -> ApiError:
    """A 404 naming what was looked up."""
    return ApiError(404, f"{kind} {key!r} not found")


def flush_or_conflict(session: Any, message: str) -> None:
    """Flush pending writes; a unique-constraint violation becomes a 409 with ``message``."""
    from sqlalchemy.exc import IntegrityError

    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ApiError(409, message) from None


def envelope(status: int, message: str, details: Any = None, code: str | None = None) -> JSONResponse:
    """Build the JSON response for an error."""
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message, "details": details}}
    return JSONResponse(status_code=status, content=body)


BODY_UNREADABLE = "the request body could not be read: send JSON encoded in UTF-8"


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error of ``app`` through the envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        response = envelope(exc.status, exc.message, exc.details, exc.code)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": _field(err.get("loc", ())), "reason": str(err.get("msg", "")).removeprefix("Value error, ")}
            for err in exc.errors()
        ]
        return envelope(422, "Invalid input", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's only 400: a body it could not even decode (not UTF-8, a broken form...).
            # For the client that is invalid input like any other, so it gets the documented 422.
            return envelope(422, "Invalid input", [{"field": "body", "reason": BODY_UNREADABLE}])
        detail = exc.detail
        message = detail if isinstance(detail, str) else HTTPStatus(exc.status_code).phrase
        response = envelope(exc.status_code, message, None if isinstance(detail, str) else detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never a stack trace to the client; the correlation id ties the log line to the response.
        log.exception("unhandled error in ylai API (request id %s)", getattr(request.state, "request_id", "-"))
        return envelope(500, "Internal error; the server log has details under this request's X-Request-ID")
