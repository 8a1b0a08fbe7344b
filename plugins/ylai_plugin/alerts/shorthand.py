"""The ``alerts:`` shorthand of script manifests and pipeline YAML, turned into rules.

.. code-block:: yaml

    alerts:
      on_failure: ["slack:#data-alerts", "email:oncall@example.com"]   # a run failed
      on_task_failure: ["slack:#data-alerts"]                          # a task failed after retries
      on_duration_factor: 2          # the run takes > 2 x p95 of its last 20 successful runs
      on_duration_seconds: 3600      # ... or > an absolute limit
      on_failure_rate: 50            # >= 50 % of the runs of the last day failed (min 3 runs)
      on_deadline: "06:30"           # not finished successfully by 06:30 UTC
      channels: ["slack:#data-alerts"]  # where metric alerts go (default: on_failure's channels)
      severity: critical
      language: zh-CN

DAG parsing never writes the database: the manifest model only keeps the mapping. The evaluator
(``ylai alerts``) reads the scripts and pipelines folders, and the current version of every
database pipeline (:mod:`ylai_plugin.domain.db_pipelines`), each tick and creates, updates or
deletes the rules it owns (``source = "manifest"``, ``source_ref = "<kind>:<name>#<key>"``).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from ylai_plugin.alerts.schemas import Channel, RuleBody

log = logging.getLogger(__name__)
KEYS = (
    "on_failure",
    "on_task_failure",
    "on_duration_factor",
    "on_duration_seconds",
    "on_failure_rate",
    "on_deadline",
    "channels",
    "severity",
    "language",
)


def parse_channel(value: Any, language: str) -> dict[str, Any]:
    """``"slack:#data-alerts"``, ``"email:a@b.c"``, ``"webhook:https://..."`` or a full mapping."""
    if isinstance(value, dict):
        return Channel.model_validate({"language": language, **value}).model_dump()
    kind, sep, target = str(value).partition(":")
    if not sep:
        raise ValueError(f"expected 'slack:#channel', 'email:address' or 'webhook:URL', got {value!r}")
    return Channel.model_validate({"type": kind.strip(), "target": target.strip(), "language": language}).model_dump()


def rules_from_shorthand(kind: str, name: str, spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Rule bodies (by ``source_ref``) for one script or pipeline; ValueError names the bad key."""
    unknown = sorted(set(spec) - set(KEYS))
    if unknown:
        raise ValueError(f"alerts: unknown key(s) {', '.join(unknown)}; choose from {', '.join(KEYS)}")
    language = str(spec.get("language", "en"))
    severity = str(spec.get("severity", "warning"))

    def _channels(key: str) -> list[dict[str, Any]]:
        value = spec[key]
        try:
            return [parse_channel(v, language) for v in (value if isinstance(value, list) else [value])]
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ValueError(f"alerts.{key}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
        except ValueError as exc:
            raise ValueError(f"alerts.{key}: {exc}") from None

    on_failure = _channels("on_failure") if spec.get("on_failure") else []
    default = _channels("channels") if spec.get("channels") else on_failure
    scope = {"scripts": [name]} if kind == "script" else {"pipelines": [name]}
    conditions: dict[str, tuple[dict[str, Any], list[dict[str, Any]], str]] = {}
    if on_failure:
        conditions["on_failure"] = ({"type": "run_failed"}, on_failure, "failed")
    if spec.get("on_task_failure"):
        conditions["on_task_failure"] = (
            {"type": "task_failed"},
            _channels("on_task_failure"),
            "task failed",
        )
    if spec.get("on_duration_factor") is not None:
        factor = spec["on_duration_factor"]
        conditions["on_duration_factor"] = ({"type": "duration", "p95_factor": factor}, default, f"> {factor}x p95")
    if spec.get("on_duration_seconds") is not None:
        seconds = spec["on_duration_seconds"]
        conditions["on_duration_seconds"] = ({"type": "duration", "max_seconds": seconds}, default, f"> {seconds}s")
    if spec.get("on_failure_rate") is not None:
        rate = spec["on_failure_rate"]
        cond = {"type": "failure_rate", **(rate if isinstance(rate, dict) else {"threshold_percent": rate})}
        conditions["on_failure_rate"] = (cond, default, "failure rate")
    if spec.get("on_deadline") is not None:
        conditions["on_deadline"] = ({"type": "deadline", "time": str(spec["on_deadline"])}, default, "deadline")
    out: dict[str, dict[str, Any]] = {}
    for key, (condition, channels, label) in conditions.items():
        if not channels:
            raise ValueError(f"alerts.{key}: no channels (set alerts.channels or alerts.on_failure)")
        body = {
            "name": f"{kind} {name}: {label}"[:200],
            "description": f"From the alerts: section of {kind} {name!r} ({key}).",
            "severity": severity,
            "scope": scope,
            "condition": condition,
            "channels": channels,
        }
        try:
            out[f"{kind}:{name}#{key}"] = RuleBody.model_validate(body).model_dump(mode="json")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"alerts.{key}: {where}: {first['msg']}") from None
    return out


def database_pipeline_alerts(skip: set[str] | frozenset[str] = frozenset()) -> dict[str, dict[str, Any] | None]:
    """The ``alerts:`` section of the current version of every database pipeline not in ``skip``, by name.

    ``skip``: the repository's pipelines, whose file wins over a database pipeline of the same
    name (as in the DAG generator).
    """
    from airflow.utils.session import create_session

    from ylai_plugin.domain.pipelines import database_pipelines

    with create_session() as session:
        stored = database_pipelines(session)
    return {name: p.spec.alerts for name, p in sorted(stored.items()) if name not in skip}


def declared_rules() -> dict[str, dict[str, Any]]:
    """Every rule declared by the DAGs folder's scripts and pipelines and by the database pipelines.

    A broken section is logged and left out.
    """
    from pathlib import Path

    from airflow.configuration import conf

    from ylai_operators.catalog import load_catalog

    catalog = load_catalog(Path(conf.get("core", "dags_folder")))
    owners: list[tuple[str, str, dict[str, Any] | None]] = [
        ("script", s.name, s.manifest.alerts) for s in catalog.registry.scripts.values()
    ] + [("pipeline", p.name, p.spec.alerts) for p in catalog.pipelines.values()]
    owners += [("pipeline", name, spec) for name, spec in database_pipeline_alerts(set(catalog.pipelines)).items()]
    out: dict[str, dict[str, Any]] = {}
    for kind, name, spec in owners:
        if not spec:
            continue
        try:
            out.update(rules_from_shorthand(kind, name, spec))
        except (ValueError, ValidationError) as exc:
            log.warning("ignoring the alerts: section of %s %s: %s", kind, name, exc)
    return out


_synced_fingerprint: list[str] = []


def folder_fingerprint() -> str:
    """Names, sizes and mtimes of the spec files, and the database pipelines' current versions.

    Cheap to compute (no spec is read), and changes when a spec does: a file is edited, added or
    removed, a database pipeline gets a new version (a save or a restore), is created or deleted.
    """
    import hashlib
    from pathlib import Path

    from airflow.configuration import conf
    from airflow.utils.session import create_session

    from ylai_plugin.domain.db_pipelines import current_versions

    root = Path(conf.get("core", "dags_folder"))
    digest = hashlib.sha256(str(root).encode())
    with create_session() as session:
        digest.update(repr(current_versions(session)).encode())
    for sub in ("scripts", "pipelines"):
        folder = root / sub
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                stat = path.stat()
                digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def sync_if_changed() -> dict[str, int] | None:
    """Sync the declared rules when a spec file or database pipeline changed since this process last synced them."""
    fingerprint = folder_fingerprint()
    if _synced_fingerprint and _synced_fingerprint[0] == fingerprint:
        return None
    stats = sync_declared_rules()
    _synced_fingerprint[:] = [fingerprint]
    return stats


def sync_declared_rules(declared: dict[str, dict[str, Any]] | None = None) -> dict[str, int]:
    """Create, update and delete manifest rules to match ``declared`` (default: :func:`declared_rules`).

    ``enabled`` is left as the user set it through the API.
    """
    from airflow.utils.session import create_session

    from ylai_plugin.db.alert_models import AlertRule

    declared = declared_rules() if declared is None else declared
    stats = {"created": 0, "updated": 0, "deleted": 0}
    with create_session() as session:
        existing = {r.source_ref: r for r in session.scalars(select(AlertRule).where(AlertRule.source == "manifest"))}
        for ref, body in declared.items():
            fields = {k: v for k, v in body.items() if k != "enabled"}
            fields["condition_type"] = body["condition"]["type"]
            rule = existing.pop(ref, None)
            if rule is None:
                if session.scalar(select(AlertRule.id).where(AlertRule.name == body["name"])):
                    fields["name"] = f"{body['name']} ({ref})"[:200]
                session.add(AlertRule(**fields, enabled=True, source="manifest", source_ref=ref, created_by="manifest"))
                stats["created"] += 1
            elif any(getattr(rule, k) != v for k, v in fields.items() if k != "name"):
                for key, value in fields.items():
                    if key != "name":
                        setattr(rule, key, value)
                stats["updated"] += 1
        for rule in existing.values():
            session.delete(rule)
            stats["deleted"] += 1
    return stats
