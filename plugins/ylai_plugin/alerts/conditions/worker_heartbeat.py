# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""``worker_heartbeat``: a worker went silent, or too few are alive."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import func, select

from ylai_plugin.alerts.conditions import base

TYPE = "worker_heartbeat"


class WorkerHeartbeat(base.ConditionParams):
    """A worker has sent no heartbeat (resource sample) for ``max_silence_seconds``; or none is alive.

    Workers are the hosts in ylai's resource samples whose kind is in ``kinds`` (Celery workers sample
    themselves every few seconds; with a local executor the scheduler runs the tasks).
    """

    model_config = base.params_config(
        TYPE, "Worker heartbeat", {"type": TYPE, "max_silence_seconds": 120, "min_alive": 1}
    )

    type: Literal["worker_heartbeat"]
    max_silence_seconds: float = Field(
        default=120,
        ge=5,
        description="A worker silent this long is down.",
        json_schema_extra=base.ui_hints(unit="seconds"),
    )
    min_alive: int = Field(default=1, ge=0, le=10_000, description="Fire 'no worker alive' below this count.")
    kinds: list[str] = Field(
        default_factory=lambda: ["celery-worker"],
        min_length=1,
        description="Host kinds that count as workers.",
        json_schema_extra=base.ui_hints(hidden=True),
    )


def find(check: base.Check) -> base.Found:
    """Hosts of ``kinds`` silent for ``max_silence_seconds`` (seen in the last day); or too few alive.

    Not about DAGs: the rule's scope does not apply.
    """
    from ylai_plugin.db.models import WorkerSample

    cond, now = check.condition, check.now
    silence = float(cond.get("max_silence_seconds", 120))
    kinds = list(cond.get("kinds") or ["celery-worker"])
    last_seen = {
        host: base.aware(ts)
        for host, ts in check.session.execute(
            select(WorkerSample.host, func.max(WorkerSample.ts))
            .where(WorkerSample.kind.in_(kinds), WorkerSample.ts >= now - timedelta(days=1))
            .group_by(WorkerSample.host)
        )
    }
    cutoff = now - timedelta(seconds=silence)
    out: base.Violations = {}
    alive = 0
    for host, ts in last_seen.items():
        if ts is not None and ts >= cutoff:
            alive += 1
            continue
        details = {
            "host": host,
            "last_seen": ts.isoformat() if ts else None,
            "silence_seconds": round((now - ts).total_seconds(), 1) if ts else None,
        }
        out[f"host:{host}"] = (details, None, None, set())
    min_alive = int(cond.get("min_alive", 1))
    if alive < min_alive:
        out["no-worker"] = ({"no_worker": True, "alive": alive, "min_alive": min_alive}, None, None, set())
    return base.Found(out)


def message_key(details: dict[str, Any]) -> str:
    """One host silent, or too few alive."""
    return "no_worker" if details.get("no_worker") else "worker_silent"


CONDITION = base.ConditionType(
    type=TYPE,
    params=WorkerHeartbeat,
    order=60,
    find=find,
    message_key=message_key,
    messages={
        "en": {
            "worker_silent": "Worker has no heartbeat for {silence}: {host}",
            "no_worker": "No worker alive ({alive} alive, at least {min_alive} expected)",
        },
        "zh-CN": {
            "worker_silent": "Worker 已 {silence} 无心跳：{host}",
            "no_worker": "没有存活的 Worker（存活 {alive} 个，至少应有 {min_alive} 个）",
        },
    },
)
