"""The last task of every pipeline DAG: gather the nodes' outputs into one result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


def collect_outputs(nodes: Sequence[str], leaves: Sequence[str], **context: Any) -> dict[str, Any]:
    """Gather every node's outputs into the pipeline's single result (the last task's XCom)."""
    ti = context["ti"]
    results = {node: ti.xcom_pull(task_ids=node) or {} for node in nodes}
    return {
        "outputs": {node: results[node].get("outputs", {}) for node in leaves},
        "nodes": {
            node: {k: v for k, v in result.items() if k not in ("artifacts",)} for node, result in results.items()
        },
    }


class CollectOutputsOperator(BaseOperator):
    """Return ``{"outputs": {leaf: outputs}, "nodes": {node: run metadata}}`` as the pipeline's result.

    A plain ``BaseOperator`` rather than a ``PythonOperator``: every task of a pipeline imports
    the pipeline's DAG file at start-up, and ``airflow.providers.standard.operators.python``
    alone takes 0.1-0.2 s to import.

    :param nodes: every node's task id, in topological order (kept as ``node_ids``).
    :param leaves: the nodes nothing depends on, whose outputs are the pipeline's (``leaf_ids``).
    """

    ui_color = "#f0ede4"

    def __init__(self, *, nodes: Sequence[str], leaves: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.node_ids = list(nodes)
        self.leaf_ids = list(leaves)

    def execute(self, context: Context) -> dict[str, Any]:
        """Pull every node's XCom and return the combined result."""
        return collect_outputs(self.node_ids, self.leaf_ids, **context)
