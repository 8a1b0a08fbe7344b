"""What a condition type is made of, and the helpers its module uses.

A condition module defines its params model (a :class:`ConditionParams` with a ``type``
literal), how it is evaluated (:attr:`ConditionType.find` for a metric condition,
:attr:`ConditionType.failures` for an event condition), its message texts in every language
and, through :func:`params_config`, the keys of its labels in the UI. It exposes one
:class:`ConditionType` as ``CONDITION``; :mod:`ylai_plugin.alerts.conditions` registers it.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from sqlalchemy import select
from sqlalchemy.orm import Session

from ylai_plugin.db.alert_models import AlertRule
from ylai_plugin.domain.errors import text

# key -> (details, dag_id, run_id, the DAG's tags): what a metric condition finds violated now.
Violation = tuple[dict[str, Any], str | None, str | None, set[str]]
Violations = dict[str, Violation]
LANGUAGES = ("en", "zh-CN")


def reject_nul(value: Any) -> Any:
    """Postgres text cannot hold NUL characters: refuse them as invalid input instead of failing later."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(text("field.no_nul", "must not contain NUL characters"))
    if isinstance(value, list):
        for item in value:
            reject_nul(item)
    return value


class StrictModel(BaseModel):
    """A model that refuses unknown fields and NUL characters (every part of a rule is one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


class ConditionParams(StrictModel):
    """The params of one condition type; subclasses add ``type: Literal["<type>"]`` and their fields."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        # The document sorts its keys: the fields' order (the rule editor's) goes in a list.
        order = [name for name in cls.model_fields if name != "type"]
        target["x-ylai-ui"] = {**target.get("x-ylai-ui", {}), "order": order}
        return schema


def label_keys(condition_type: str) -> dict[str, str]:
    """The UI's i18n keys of a condition: its name, its help text and its one-line summary of a rule."""
    return {
        "label": f"alerts.cond.{condition_type}",
        "help": f"alerts.condHelp.{condition_type}",
        "summary": f"alerts.desc.{condition_type}",
    }


def params_config(
    condition_type: str, title: str, example: dict[str, Any], ui: dict[str, Any] | None = None
) -> ConfigDict:
    """The model config of a params model: its title, an example, and its UI label keys (``x-ylai-labels``).

    :param ui: what the rule editor needs beyond JSON Schema (``x-ylai-ui``, see :func:`ui_hints`):
        ``modes`` (a choice between groups of fields, exactly one group sent), ``summary`` (the
        summary's i18n key chosen by the value of a field) and ``add_default`` (the condition that
        "Add a condition" adds). ``order`` (the fields in the model's order) is added here.
    """
    extra: dict[str, Any] = {"examples": [example], "x-ylai-labels": dict(label_keys(condition_type))}
    if ui:
        extra["x-ylai-ui"] = ui
    return ConfigDict(extra="forbid", title=title, json_schema_extra=extra)


def ui_hints(**hints: Any) -> dict[str, Any]:
    """A field's ``json_schema_extra`` for the rule editor (``x-ylai-ui``); the API does not read it.

    Hints: ``label``/``help`` (i18n keys; the label defaults to ``alerts.f.<field>``), ``initial``
    (the form's value when the schema has no default), ``unit`` (``seconds``/``minutes``: how a
    summary shows the value), ``input`` (``time``), ``options`` (enum value -> i18n key),
    ``error`` (the i18n key of a failed ``pattern``), ``hidden`` (not in the form).
    """
    return {"x-ylai-ui": hints}


@dataclass(frozen=True)
class Check:
    """One evaluation of a rule: the rule (``condition`` as stored), its DAGs in scope with their tags, now."""

    session: Session
    rule: AlertRule
    scoped: dict[str, set[str]]
    now: datetime

    @property
    def condition(self) -> dict[str, Any]:
        """The stored condition (its params, defaults not filled in)."""
        return dict(self.rule.condition or {})


@dataclass(frozen=True)
class Found:
    """What a metric condition found: the violations now, and keys whose open incident stays as it is."""

    violations: Violations
    keep: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Failure:
    """A failed run (``task_id`` None) or task that an event condition alerts on, keyed for dedup.

    :param attempt: the task's try number and map index when known (the listener), else read from the DB.
    """

    key: str
    dag_id: str
    run_id: str
    end: datetime | None = None
    task_id: str | None = None
    attempt: tuple[int, int] | None = None


@dataclass(frozen=True)
class ConditionType:
    """A registered condition type.

    :param type: its name, the ``type`` of the condition in a rule.
    :param params: its params model.
    :param messages: language -> message key -> text (``str.format`` fields from the alert details).
    :param order: where it comes in lists (the API's enum, the UI's choices).
    :param find: a metric condition's evaluation.
    :param failures: an event condition's recent failures (the evaluator's safety net behind the listener).
    :param on_run_failed: an event condition's incidents when the listener sees a run fail.
    :param on_task_failed: a task condition's incident when the listener sees a task fail after its retries
        (dag_id, run_id, task_id, (try number, map index)).
    :param message_key: which of ``messages`` a headline uses for given details (default: the type).
    """

    type: str
    params: builtins.type[ConditionParams]
    messages: dict[str, dict[str, str]]
    order: int
    find: Callable[[Check], Found] | None = None
    failures: Callable[[Check, datetime], Iterable[Failure]] | None = None
    on_run_failed: Callable[[Session, str, str], Iterable[Failure]] | None = None
    on_task_failed: Callable[[str, str, str, tuple[int, int]], Failure] | None = None
    message_key: Callable[[dict[str, Any]], str] | None = None

    def __post_init__(self) -> None:
        if (self.find is None) == (self.failures is None):
            raise ValueError(f"condition {self.type!r}: give exactly one of find or failures")
        if self.failures is None and (self.on_run_failed or self.on_task_failed):
            raise ValueError(f"condition {self.type!r}: the listener's hooks belong to event conditions")
        if set(self.messages) != set(LANGUAGES):
            raise ValueError(f"condition {self.type!r}: messages must be in {LANGUAGES}")

    @property
    def is_event(self) -> bool:
        """Whether it fires on run/task events (and resolves when the DAG succeeds) rather than on a metric."""
        return self.failures is not None

    @property
    def title(self) -> str:
        """Its English title (the params schema's ``title``)."""
        return str(self.params.model_config.get("title") or self.type)

    @property
    def labels(self) -> dict[str, str]:
        """Its UI label keys."""
        return label_keys(self.type)

    def template(self, details: dict[str, Any], language: str) -> str:
        """The headline template for ``details`` in ``language`` (English for an unknown language)."""
        texts = self.messages.get(language, self.messages["en"])
        key = self.message_key(details) if self.message_key is not None else self.type
        return texts.get(key, "{dag_id}")


def aware(value: datetime | None) -> datetime | None:
    """A database timestamp as an aware UTC datetime (SQLite hands back naive ones)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def failed_tasks(session: Session, dag_id: str, run_id: str) -> list[tuple[str, int, int]]:
    """The failed task instances of a run: task id, try number, map index."""
    from airflow.models.taskinstance import TaskInstance as TI

    return [
        (task_id, int(try_number or 1), int(map_index))
        for task_id, try_number, map_index in session.execute(
            select(TI.task_id, TI.try_number, TI.map_index).where(
                TI.dag_id == dag_id, TI.run_id == run_id, TI.state == "failed"
            )
        )
    ]
