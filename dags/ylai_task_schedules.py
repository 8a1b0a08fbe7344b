"""ylai task DAGs: one Airflow DAG, ``task__<id>``, per saved task with a schedule or an approval.

Each DAG triggers the task's script, pipeline or DAG with the task's saved params (after the
approval gate, for a task that needs one).
Tasks are edited through ylai's API (``/ylai/api/v1/tasks``), never here.
"""

from __future__ import annotations

from ylai_operators.scheduled_tasks import scheduled_task_dags

globals().update(scheduled_task_dags())
