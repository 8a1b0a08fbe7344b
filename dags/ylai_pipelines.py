"""ylai pipeline DAGs: one Airflow DAG, ``pipeline__<name>``, per YAML spec in ``pipelines/``.

Broken specs are skipped here and reported by ``ylai_spec_errors.py``.
"""

from __future__ import annotations

from pathlib import Path

from ylai_operators.dag_factory import pipeline_dags

globals().update(pipeline_dags(Path(__file__).resolve().parent))
