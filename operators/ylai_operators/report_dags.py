"""Scheduled reports as DAGs: each spec in ``dags/reports/`` becomes ``report__<name>`` with a ReportOperator.

Parsing stays cheap: YAML and ``airflow.sdk`` only; the operator imports HTTP, SMTP and Slack
code when it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ylai_operators.naming import REPORT_PREFIX
from ylai_operators.report_spec import ReportSpec, load_specs

if TYPE_CHECKING:
    from airflow.sdk import DAG

DAG_PREFIX = REPORT_PREFIX


def build_report_dag(spec: ReportSpec) -> DAG:
    """The DAG of one scheduled report."""
    from airflow.sdk import DAG

    from ylai_operators.report_operator import ReportOperator

    targets = [t for t, on in (("e-mail", spec.email), ("Slack", spec.slack)) if on] or ["nobody (no target)"]
    with DAG(
        dag_id=f"{DAG_PREFIX}{spec.name}",
        dag_display_name=f"Report: {spec.name}",
        description=spec.description or f"{spec.kind} report ({spec.format}, {spec.period}) to {', '.join(targets)}",
        doc_md=(
            f"### Scheduled report `{spec.name}`\n\n{spec.description}\n\n"
            f"A **{spec.format}** report of **{spec.kind}** for the **{spec.period}** period, in {spec.language}, "
            f"delivered by {' and '.join(targets)}. "
            + ("" if spec.enabled else "**Disabled**: set `enabled: true` in its spec to schedule it. ")
            + "Defined in `dags/reports/`; see docs/reports.md."
        ),
        schedule=spec.schedule if spec.enabled else None,
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["ylai", "report"],
        default_args={"owner": spec.owner, "retries": 2, "retry_delay": timedelta(minutes=5)},
    ) as dag:
        ReportOperator(
            task_id="report",
            kind=spec.kind,
            format=spec.format,
            language=spec.language,
            period=spec.period,
            filters=spec.filters,
            api_conn_id=spec.api_conn_id,
            email_conn_id=(spec.email or {}).get("conn_id", "smtp_default") if spec.email else None,
            email_to=(spec.email or {}).get("to"),
            slack_conn_id=(spec.slack or {}).get("conn_id", "ylai_slack") if spec.slack else None,
            slack_channel=(spec.slack or {}).get("channel"),
            report_name=spec.name,
        )
    return dag


def report_dags(folder: Path) -> dict[str, DAG]:
    """DAGs for every spec in ``folder``."""
    if not folder.is_dir():
        return {}
    return {f"{DAG_PREFIX}{spec.name}": build_report_dag(spec) for spec in load_specs(folder)}
