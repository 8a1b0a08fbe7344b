"""The registry of alert condition types: every module of this package defines one, registered here once.

Everything that lists conditions reads this registry: the rule model and the API's schema
(:data:`Condition`, a union discriminated by ``type``, and the :data:`ConditionTypeName` enum),
the evaluator's dispatch (:func:`get`) and the message headlines (:func:`headline_template`).
The UI reads the same list from the OpenAPI document. To add a condition, see "Adding a
condition" in ``docs/alerts.md``.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, GetJsonSchemaHandler

from ylai_plugin.alerts.conditions.base import ConditionParams, ConditionType

_NOT_CONDITIONS = {"base"}


def _discover() -> dict[str, ConditionType]:
    """Import each condition module of the package and collect its ``CONDITION``, in their ``order``."""
    found: list[ConditionType] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name in _NOT_CONDITIONS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        condition = module.CONDITION
        if not isinstance(condition, ConditionType) or condition.type != info.name:
            raise TypeError(f"{module.__name__}.CONDITION must be the ConditionType named {info.name!r}")
        found.append(condition)
    return {c.type: c for c in sorted(found, key=lambda c: (c.order, c.type))}


REGISTRY: dict[str, ConditionType] = _discover()
CONDITION_TYPES: tuple[str, ...] = tuple(REGISTRY)
EVENT_CONDITIONS: tuple[str, ...] = tuple(name for name, c in REGISTRY.items() if c.is_event)


def get(condition_type: str) -> ConditionType | None:
    """The registered condition type of that name, or None (a rule stored by a newer or older version)."""
    return REGISTRY.get(condition_type)


def headline_template(condition_type: str, details: dict[str, Any], language: str) -> str:
    """The headline template of an alert of ``condition_type`` with ``details``, in ``language``."""
    condition = REGISTRY.get(condition_type)
    return condition.template(details, language) if condition is not None else "{dag_id}"


class _ConditionTypeEnum(enum.StrEnum):
    """The enum of registered condition types, documented with each type's title and description."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        schema = handler.resolve_ref_schema(handler(core_schema))
        schema["description"] = (
            "The type of an alert rule's condition. Each type has its params schema: the member of "
            "the condition union whose `type` is that value (see RuleBody.condition)."
        )
        schema["examples"] = [CONDITION_TYPES[0]]
        # Per value, in the order of "enum" (the convention of openapi-generator and others).
        schema["x-enum-descriptions"] = [REGISTRY[name].title for name in CONDITION_TYPES]
        return schema


if TYPE_CHECKING:
    Condition = ConditionParams
    ConditionTypeName = str
else:
    Condition = Annotated[Union[tuple(c.params for c in REGISTRY.values())], Field(discriminator="type")]  # noqa: UP007
    ConditionTypeName = _ConditionTypeEnum("AlertConditionType", [(name, name) for name in CONDITION_TYPES])
