"""ylai pipeline DAGs, file 0 of 4: one Airflow DAG, ``pipeline__<name>``, per YAML spec in ``pipelines/``.

Only the pipelines whose name hashes to this file (``ylai_operators.dag_factory.shard_of``,
``PIPELINE_SHARDS`` files) are built here, so that each file parses quickly. Broken specs
are skipped here and reported by ``ylai_spec_errors.py``.
"""

from __future__ import annotations

from pathlib import Path

from ylai_operators.dag_factory import pipeline_dags

globals().update(pipeline_dags(Path(__file__).resolve().parent, shard=(0, 4)))
