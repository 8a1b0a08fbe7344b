"""Former home of the report specs and their DAGs, kept so that existing imports work.

Specs live in :mod:`ylai_operators.report_spec`, the DAG builder in
:mod:`ylai_operators.report_dags`; the plugin imports them through :mod:`ylai_operators.catalog`.
"""

from __future__ import annotations

from ylai_operators.report_dags import DAG_PREFIX, build_report_dag, report_dags
from ylai_operators.report_spec import (
    FILTERS,
    FORMATS,
    KINDS,
    LANGUAGES,
    NAME,
    PERIODS,
    ReportSpec,
    ReportSpecError,
    load_specs,
    parse_spec,
    period_bounds,
)

__all__ = [
    "DAG_PREFIX",
    "FILTERS",
    "FORMATS",
    "KINDS",
    "LANGUAGES",
    "NAME",
    "PERIODS",
    "ReportSpec",
    "ReportSpecError",
    "build_report_dag",
    "load_specs",
    "parse_spec",
    "period_bounds",
    "report_dags",
]
