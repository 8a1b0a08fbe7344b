"""The errors ylai's domain raises, with no HTTP in them.

The API maps each class to a status code and its error envelope
(:mod:`ylai_plugin.api.errors`); other callers (the CLI, a listener, a DAG) may catch
them like any exception. Every error carries a ``message`` for people and optional
``details`` for programs: for :class:`Invalid`, the list of ``{"field", "reason"}``
problems a client needs to point at the input it must fix.

Sentences for people are :class:`Text`: a stable key, the English template and its values.
``str()`` of one is the English sentence (what ``message`` and ``details`` hold); the API
looks the key up in its catalogs to answer in the language a request asks for
(``ylai_plugin.api.i18n``), so the domain never picks a language and never knows HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, eq=True)
class Text:
    """A sentence for people that a translation can replace.

    :param key: its name in the catalogs (``"task.name_taken"``); the same key, the same sentence.
    :param template: the English sentence, a :meth:`str.format` template over ``params``.
    :param params: the values it names. A :class:`Term` among them is translated too; any
        other value (a name, an id, a number) is shown as it is.
    """

    key: str
    template: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        return self.template.format_map(self.params)


def text(key: str, template: str, /, **params: Any) -> Text:
    """``text("task.name_taken", "A task named {name!r} already exists", name=name)``."""
    return Text(key, template, params)


class Term(str):
    """A word of ylai's own vocabulary used as a value in a :class:`Text` ("Task", "read").

    Unlike a name or an id, a catalog translates it as well (``TERMS`` of a language).
    """

    __slots__ = ()


def localized(value: Any, translate: Callable[[Text], str] = str) -> Any:
    """``value`` with every :class:`Text` in it (at any depth of lists and dicts) made a string."""
    if isinstance(value, Text):
        return translate(value)
    if isinstance(value, Mapping):
        return {key: localized(item, translate) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [localized(item, translate) for item in value]
    return value


INVALID_INPUT = text("invalid_input", "Invalid input")
# Reasons several modules give for a field.
CANNOT_BE_NULL = text("field.cannot_be_null", "cannot be null")
MUST_BE_OBJECT = text("field.must_be_object", "must be an object")


class DomainError(Exception):
    """Base of every error the domain raises on purpose.

    :param message: one sentence for the person who made the request; a :class:`Text` can be
        translated, a plain string is shown as it is.
    :param details: data for a program (a list of field problems, ...), or None; :class:`Text`
        values in it (a problem's ``reason``) can be translated too.
    """

    def __init__(self, message: str | Text, details: Any = None) -> None:
        super().__init__(str(message))
        self.text = message if isinstance(message, Text) else None
        self.message = str(message)
        # What the API translates; ``details`` is the same in English, for everyone else.
        self.localizable_details = details
        self.details = localized(details)

    def localized(self, translate: Callable[[Text], str]) -> tuple[str, Any]:
        """The message and the details with ``translate`` applied to each :class:`Text`."""
        message = translate(self.text) if self.text is not None else self.message
        return message, localized(self.localizable_details, translate)


class NotFound(DomainError):
    """What was asked for does not exist (or the caller may not know that it exists)."""


class Invalid(DomainError):
    """The input is wrong; ``details`` names each field path with its reason.

    :param problems: ``{"field": "body.name", "reason": "cannot be null"}`` mappings; none
        when the whole input is wrong for a reason no single field carries.
    """

    def __init__(self, problems: Iterable[Mapping[str, str | Text]] = (), message: str | Text = INVALID_INPUT) -> None:
        listed = [dict(problem) for problem in problems]
        super().__init__(message, listed or None)
        self.problems: list[dict[str, str]] = self.details or []

    @classmethod
    def at(cls, field: str, reason: str | Text, message: str | Text = INVALID_INPUT) -> Invalid:
        """The error for one field path, e.g. ``Invalid.at("body.params", MUST_BE_OBJECT)``."""
        return cls([{"field": field, "reason": reason}], message)


class Conflict(DomainError):
    """The change clashes with the current state (a name already taken, a job not finished, ...)."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Unavailable(DomainError):
    """A dependency the answer needs is missing or down; retrying later may work.

    :param dependency: what is unavailable (``"redis"``, ``"ui build"``), for logs and programs.
    :param retry_after: seconds after which a retry may succeed, when known.
    :param details: data for a program (which dependency, when to retry), or None.
    """

    def __init__(
        self, message: str | Text, dependency: str | None = None, retry_after: int | None = None, details: Any = None
    ) -> None:
        super().__init__(message, details)
        self.dependency = dependency
        self.retry_after = retry_after


class Overloaded(DomainError):
    """The platform is too busy to take this on now (a full queue); retrying later may work.

    :param retry_after: seconds after which a retry may succeed.
    :param details: data for a program (which queue, its depth and limit), or None.
    """

    def __init__(self, message: str | Text, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after


def not_found(kind: str, key: object, details: Any = None) -> NotFound:
    """The error naming what was looked up: ``Task 42 not found``, ``DAG 'x' not found``.

    ``kind`` is one of ylai's words (a :class:`Term`: catalogs translate it), ``key`` is shown as given.
    """
    return NotFound(text("not_found", "{kind} {key!r} not found", kind=Term(kind), key=key), details)


def validation_reason(error: Mapping[str, Any]) -> Text:
    """The reason of one pydantic error (an item of ``ValidationError.errors()``), translatable.

    Its key is ``validation.<type>`` (``validation.string_too_long``) and its values are the
    error's ``ctx`` (``max_length``), so a catalog words it from the type, not from pydantic's
    English. A validator that raised ``ValueError(text(...))`` gives that :class:`Text` itself.
    """
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, ValueError) and cause.args and isinstance(cause.args[0], Text):
        return cause.args[0]
    english = str(error.get("msg", "")).removeprefix("Value error, ")
    # The English reason is pydantic's finished sentence: braces in it are not placeholders.
    template = english.replace("{", "{{").replace("}", "}}")
    return Text(f"validation.{error.get('type', 'unknown')}", template, dict(ctx))


def flush_or_conflict(session: Any, message: str | Text) -> None:
    """Flush pending writes; a unique-constraint violation becomes a :class:`Conflict` with ``message``."""
    from sqlalchemy.exc import IntegrityError

    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(message) from None
