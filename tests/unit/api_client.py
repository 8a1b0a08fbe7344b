"""An in-process client for ylai's FastAPI app on the unit tests' SQLite DB (SimpleAuthManager)."""

from __future__ import annotations

from functools import cache
from typing import Any

from tests.conftest import REPO_ROOT


@cache
def sync_repo_dags() -> None:
    """Serialize the repository's DAGs into the metadata DB once per session."""
    parse_and_sync_dags()


def parse_and_sync_dags() -> None:
    """Parse the repository's DAGs and serialize them into the metadata DB, as the dag-processor would."""
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.dagbundle import DagBundleModel
    from airflow.utils.session import create_session

    with create_session() as session:
        if session.get(DagBundleModel, "dags-folder") is None:
            session.add(DagBundleModel(name="dags-folder"))
    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    sync_bag_to_db(bag, "dags-folder", None)


def token(role: str = "admin", username: str = "alice") -> str:
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return str(init_auth_manager().generate_jwt(SimpleAuthManagerUser(username=username, role=role)))


def headers(role: str = "admin", username: str = "alice") -> dict[str, Any]:
    return {"Authorization": f"Bearer {token(role, username)}"}
