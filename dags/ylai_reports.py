"""ylai scheduled reports: one Airflow DAG, ``report__<name>``, per YAML spec in ``dags/reports/``.

Each DAG asks ylai's API for a CSV, xlsx or PDF report of the previous period and e-mails it
or posts it to Slack. See docs/reports.md.
"""

from __future__ import annotations

from pathlib import Path

from ylai_operators.report_dags import report_dags

globals().update(report_dags(Path(__file__).parent / "reports"))
