"""Links to Airflow's UI that alert details carry (the DAG, a run, a task's log)."""

from __future__ import annotations


def base_url() -> str:
    """Airflow's public URL ([api] base_url), without a trailing slash."""
    from airflow.configuration import conf

    return str(conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")


def run_links(
    dag_id: str, run_id: str | None = None, task_id: str | None = None, try_number: int = 1
) -> dict[str, str]:
    """Links to the DAG, the run and a task's log in Airflow's UI."""
    from urllib.parse import quote

    base = base_url()
    links = {"dag": f"{base}/dags/{quote(dag_id, safe='')}"}
    if run_id:
        links["run"] = f"{links['dag']}/runs/{quote(run_id, safe='')}"
        if task_id:
            links["log"] = f"{links['run']}/tasks/{quote(task_id, safe='')}?try_number={try_number}"
    return links
