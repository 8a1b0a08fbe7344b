"""ylai script DAGs, file 1 of 8: one Airflow DAG, ``script__<name>``, per manifest in ``scripts/``.

Each manifest's parameters become the DAG's Params, so Airflow's trigger form is typed and
validated. Only the scripts whose name hashes to this file (``ylai_operators.dag_factory.shard_of``,
``SCRIPT_SHARDS`` files) are built here, so that each file parses quickly. Broken manifests
are skipped here and reported by ``ylai_spec_errors.py``.
"""

from __future__ import annotations

from pathlib import Path

from ylai_operators.dag_factory import script_dags

globals().update(script_dags(Path(__file__).resolve().parent, shard=(1, 8)))
