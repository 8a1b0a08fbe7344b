"""The errors ylai's domain raises, with no HTTP in them.

The API maps each class to a status code and its error envelope
(:mod:`ylai_plugin.api.errors`); other callers (the CLI, a listener, a DAG) may catch
them like any exception. Every error carries a ``message`` for people and optional
``details`` for programs: for :class:`Invalid`, the list of ``{"field", "reason"}``
problems a client needs to point at the input it must fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose.

    :param message: one sentence for the person who made the request.
    :param details: data for a program (a list of field problems, ...), or None.
    """

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """What was asked for does not exist (or the caller may not know that it exists)."""


class Invalid(DomainError):
    """The input is wrong; ``details`` names each field path with its reason.

    :param problems: ``{"field": "body.name", "reason": "cannot be null"}`` mappings; none
        when the whole input is wrong for a reason no single field carries.
    """

    def __init__(self, problems: Iterable[Mapping[str, str]] = (), message: str = "Invalid input") -> None:
        listed = [dict(problem) for problem in problems]
        super().__init__(message, listed or None)
        self.problems = listed

    @classmethod
    def at(cls, field: str, reason: str, message: str = "Invalid input") -> Invalid:
        """The error for one field path, e.g. ``Invalid.at("body.params", "must be an object")``."""
        return cls([{"field": field, "reason": reason}], message)


class Conflict(DomainError):
    """The change clashes with the current state (a name already taken, a job not finished, ...)."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Unavailable(DomainError):
    """A dependency the answer needs is missing or down; retrying later may work.

    :param dependency: what is unavailable (``"redis"``, ``"ui build"``), for logs and programs.
    :param retry_after: seconds after which a retry may succeed, when known.
    """

    def __init__(self, message: str, dependency: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.retry_after = retry_after


def not_found(kind: str, key: object) -> NotFound:
    """The error naming what was looked up: ``Task 42 not found``, ``DAG 'x' not found``."""
    return NotFound(f"{kind} {key!r} not found")


def flush_or_conflict(session: Any, message: str) -> None:
    """Flush pending writes; a unique-constraint violation becomes a :class:`Conflict` with ``message``."""
    from sqlalchemy.exc import IntegrityError

    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(message) from None
