"""One error envelope for every ylai response: ``{"error": {"code", "message", "details"}}``.

FastAPI's defaults (``{"detail": ...}``, plain-text 500s) are replaced so clients
parse one shape, and invalid input names each field with its reason. The domain raises
:class:`~ylai_plugin.domain.errors.DomainError`; :data:`DOMAIN_STATUS` maps each kind to its
status code here, so only this module knows HTTP.

Messages and reasons are in the language the request's ``Accept-Language`` asks for (English
or Simplified Chinese, see :mod:`ylai_plugin.api.i18n`); the answer says which in
``Content-Language``.
"""

from __future__ import annotations

import html
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ylai_plugin.api.i18n import Language, negotiate, status_phrase, translator, untranslated
from ylai_plugin.api.sentry import report_unhandled
from ylai_plugin.domain import outages
from ylai_plugin.domain.errors import (
    INVALID_INPUT,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Overloaded,
    Text,
    Unavailable,
    localized,
    not_found,
    text,
    validation_reason,
)

# not_found lives in the domain; re-exported for routes whose own 404s (a page, a file) are not domain errors.
__all__ = [
    "CODES",
    "DOMAIN_STATUS",
    "ApiError",
    "ErrorBody",
    "ErrorResponse",
    "envelope",
    "install_error_handlers",
    "not_found",
    "status_of",
]

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
    """Raise to answer with the envelope; for HTTP-only errors (a 429), the domain raises :class:`DomainError`.

    ``message`` (and any :class:`Text` in ``details``) is translated like a domain error's.
    """

    def __init__(self, status: int, message: str | Text, details: Any = None, code: str | None = None) -> None:
        super().__init__(str(message))
        self.status = status
        self.message = message
        self.details = details
        self.code = code or CODES.get(status, "error")
        self.headers: dict[str, str] = {}

    def with_headers(self, headers: dict[str, str]) -> ApiError:
        """Return this error with extra response headers (e.g. ``Retry-After``)."""
        self.headers.update(headers)
        return self


# The most specific class wins: a subclass of NotFound is still a 404.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Invalid: 422,
    Conflict: 409,
    Forbidden: 403,
    Unavailable: 503,
    Overloaded: 429,
}
# Codes of domain errors that share a status with another meaning (429 is also the rate limit).
DOMAIN_CODES: dict[type[DomainError], str] = {Overloaded: "queue_full"}


def status_of(exc: DomainError) -> int:
    """The status code of a domain error (500 for a kind this module does not know)."""
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 500


def envelope(
    status: int, message: str | Text, details: Any = None, code: str | None = None, language: Language = "en"
) -> JSONResponse:
    """Build the JSON response for an error, its sentences in ``language``.

    A plain string ``message`` is one no catalog knows (Airflow's, say): it is kept, and in
    Chinese led by what the status code means.
    """
    words = translator(language)
    said = words(message) if isinstance(message, Text) else untranslated(message, status, language)
    body = {
        "error": {"code": code or CODES.get(status, "error"), "message": said, "details": localized(details, words)}
    }
    # Vary: a cache must not hand the Chinese answer to a client that asked for English.
    headers = {"Content-Language": language, "Vary": "Accept-Language"}
    return JSONResponse(status_code=status, content=body, headers=headers)


def request_language(request: Request) -> Language:
    """The language the request asks for in ``Accept-Language`` (English by default)."""
    return negotiate(request.headers.get("accept-language"))


BODY_UNREADABLE = text("body_unreadable", "the request body could not be read: send JSON encoded in UTF-8")
INTERNAL_ERROR = text("internal_error", "Internal error; the server log has details under this request's X-Request-ID")
# The sentences Airflow's auth dependency and Starlette answer with: known, so translated.
KNOWN_DETAILS = {
    "Not authenticated": text("auth.not_authenticated", "Not authenticated"),
    "Token Expired": text("auth.token_expired", "Token Expired"),
    "Invalid JWT token": text("auth.invalid_token", "Invalid JWT token"),
    "Forbidden": text("http.403", "Forbidden"),
    "Not Found": text("http.404", "Not Found"),
    "Method Not Allowed": text("http.405", "Method Not Allowed"),
}


def wants_html(accept: str | None) -> bool:
    """Whether the caller is a browser opening a page (``text/html``), not a program asking for JSON."""
    accept = (accept or "").lower()
    return "text/html" in accept and "application/json" not in accept


def unavailable_page(error: Unavailable, language: Language) -> HTMLResponse:
    """A 503 a person can read: what is unavailable, and a reload after ``Retry-After`` seconds."""
    words = translator(language)
    said = words(error.text) if error.text is not None else error.message
    seconds = error.retry_after or 5
    title = status_phrase(503, language)
    page = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{seconds}"><title>{html.escape(title)} · ylai</title></head>'
        f'<body style="font-family:sans-serif;margin:3em"><h1>{html.escape(title)}</h1>'
        f"<p>{html.escape(said)}</p></body></html>"
    )
    headers = {"Retry-After": str(seconds), "Content-Language": language, "Vary": "Accept, Accept-Language"}
    return HTMLResponse(page, status_code=503, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error of ``app`` through the envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        response = envelope(exc.status, exc.message, exc.details, exc.code, request_language(request))
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, Unavailable) and exc.retry_after is not None and wants_html(request.headers.get("accept")):
            # A browser opening a page during an outage: a page that reloads itself after Retry-After.
            return unavailable_page(exc, request_language(request))
        message = exc.text if exc.text is not None else exc.message
        code = DOMAIN_CODES.get(type(exc))
        response = envelope(
            status_of(exc), message, exc.localizable_details, code=code, language=request_language(request)
        )
        if isinstance(exc, Unavailable | Overloaded) and exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Reasons by pydantic's error type and its context, so each language words them itself.
        details = [{"field": _field(err.get("loc", ())), "reason": validation_reason(err)} for err in exc.errors()]
        return envelope(422, INVALID_INPUT, details, language=request_language(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        language = request_language(request)
        if exc.status_code == 400:
            # FastAPI's only 400: a body it could not even decode (not UTF-8, a broken form...).
            # For the client that is invalid input like any other, so it gets the documented 422.
            return envelope(422, INVALID_INPUT, [{"field": "body", "reason": BODY_UNREADABLE}], language=language)
        detail = exc.detail
        message: str | Text
        if isinstance(detail, str):
            message = KNOWN_DETAILS.get(detail, detail)
        else:
            message = text(f"http.{exc.status_code}", HTTPStatus(exc.status_code).phrase)
        response = envelope(exc.status_code, message, None if isinstance(detail, str) else detail, language=language)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    async def _outage(request: Request, exc: Exception) -> Response:
        # A driver error that says a dependency is down (the metadata DB, the broker, Redis):
        # 503 naming it, with Retry-After. Any other error of those libraries stays a 500.
        dependency = outages.outage_of(exc, follow=True)
        if dependency is None:
            return _internal_error(request, exc)
        # One line, no stack, no URL (it may carry a password): an outage is not a bug.
        log.warning(
            "ylai API: %s unavailable (%s; request id %s)",
            dependency,
            type(exc).__name__,
            getattr(request.state, "request_id", "-"),
        )
        return await _domain_error(request, outages.unavailable(dependency))

    # One handler per driver error class (domain/outages.py's table), so they are answered by
    # the app's ExceptionMiddleware like a domain error, and also when a dependency raised them
    # (the auth check, which reads revoked tokens and users from the database).
    for cls in {*(cls for cls, _ in outages.error_classes()), DBAPIError}:
        app.add_exception_handler(cls, _outage)

    def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Never a stack trace to the client; the correlation id ties the log line (and the Sentry
        # event, when SENTRY_DSN is set: docs/sentry.md) to the response.
        log.exception("unhandled error in ylai API (request id %s)", getattr(request.state, "request_id", "-"))
        report_unhandled(request, exc)
        return envelope(500, INTERNAL_ERROR, language=request_language(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # An error that only wraps an outage (raised from a dropped connection) is still a 503.
        if outages.outage_of(exc, follow=True) is not None:
            response = await _outage(request, exc)
        else:
            response = _internal_error(request, exc)
        # Starlette answers an Exception handler from outside every middleware, the correlation id's
        # too: the id the message and the Sentry event refer to is added here.
        if request_id := getattr(request.state, "request_id", None):
            response.headers["X-Request-ID"] = request_id
        return response
