"""Database pipelines on Postgres + Celery: saved through the API, built by the dag-processor, run by a worker.

Runs on the shared ``celery_platform`` (before ``test_celery_platform.py``, whose last test stops it).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from tests.integration.running_platform import RunningPlatform, wait_until

NAME = "it_studio"
DAG_ID = f"pipeline__{NAME}"
API = "/ylai/api/v1"


@pytest.fixture(scope="module")
def platform(celery_platform: RunningPlatform) -> RunningPlatform:
    return celery_platform


def spec(*extra: str) -> dict[str, Any]:
    """A repository script (disk_usage) then a database script; ``extra`` nodes run the database script last."""
    nodes: dict[str, Any] = {
        "usage": {"script": "disk_usage", "params": {"path": "/etc", "top": {"param": "top"}}},
        "hello": {"script": "it_hello", "params": {"count": {"from": "usage.entries"}}},
    }
    for node in extra:
        nodes[node] = {"script": "it_hello", "depends_on": ["hello"]}
    return {
        "name": NAME,
        "title": "Studio pipeline",
        "params": {"top": {"type": "integer", "default": 1, "minimum": 1}},
        "nodes": nodes,
        "layout": {"usage": {"x": 0, "y": 0}, "hello": {"x": 200, "y": 0}},
    }


def dag_tasks(platform: RunningPlatform) -> set[str] | None:
    resp = platform.request("GET", f"/api/v2/dags/{DAG_ID}/tasks")
    return {t["task_id"] for t in resp.json()["tasks"]} if resp.status == 200 else None


def wait_for_tasks(platform: RunningPlatform, expected: set[str]) -> None:
    """Until the dag-processor has parsed the published version (every ``min_file_process_interval``)."""
    wait_until(
        lambda: "ok" if dag_tasks(platform) == expected else None,
        180,
        lambda: f"{DAG_ID} has tasks {dag_tasks(platform)}, not {expected}:\n{platform.tail()}",
    )


def run_to_success(platform: RunningPlatform, params: dict[str, Any]) -> dict[str, str]:
    """Run the pipeline through ylai's API; the state of each of the run's task instances."""
    resp = platform.request("POST", f"{API}/pipelines/{NAME}/run", {"params": params, "note": "integration"})
    assert resp.status == 201, resp.body[:500]
    run_id = resp.json()["run_id"]
    assert platform.wait_for_run(DAG_ID, run_id) == "success", platform.tail()
    quoted = urllib.parse.quote(run_id, safe="")
    tis = platform.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances").json()
    return {ti["task_id"]: ti["state"] for ti in tis["task_instances"]}


def test_a_database_pipeline_runs_changes_and_is_restored(platform: RunningPlatform) -> None:
    platform.wait_for_dag("script__disk_usage")
    script = {
        "name": "it_hello",
        "runtime": "bash",
        "content": 'echo "hello $*"',
        "manifest": {"params": {"count": {"type": "integer", "default": 0}}},
    }
    created_script = platform.request("POST", f"{API}/scripts", script)
    assert created_script.status == 201, created_script.body[:300]

    created = platform.request("POST", f"{API}/pipelines", {"spec": spec(), "comment": "v1"})
    assert created.status == 201, created.body[:500]
    assert created.json()["current_version"] == 1
    assert platform.request("POST", f"{API}/pipelines", {"spec": spec()}).status == 409

    v1_tasks = {"usage", "hello", "collect_outputs"}
    wait_for_tasks(platform, v1_tasks)
    assert run_to_success(platform, {"top": 2}) == dict.fromkeys(v1_tasks, "success")

    v2 = platform.request("POST", f"{API}/pipelines/{NAME}/versions", {"spec": spec("again"), "comment": "v2"})
    assert v2.status == 201, v2.body[:500]
    v2_tasks = v1_tasks | {"again"}
    wait_for_tasks(platform, v2_tasks)
    assert run_to_success(platform, {}) == dict.fromkeys(v2_tasks, "success")

    restored = platform.request("POST", f"{API}/pipelines/{NAME}/versions/1/restore", {})
    assert restored.status == 201, restored.body[:500]
    assert restored.json()["current_version"] == 3
    wait_for_tasks(platform, v1_tasks)

    listed = {p["name"]: p for p in platform.request("GET", f"{API}/pipelines").json()["items"]}
    assert (listed[NAME]["source"], listed[NAME]["version"]) == ("database", "3")
    for event in ("create", "version", "restore", "run"):
        logged = platform.request("GET", f"/api/v2/eventLogs?event=ylai.pipeline.{event}&limit=100").json()
        assert [e["owner"] for e in logged["event_logs"]], event
