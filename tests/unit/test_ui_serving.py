from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers
from ylai_plugin import ui_bundle
from ylai_plugin.api.app import create_app
from ylai_plugin.plugin import YlaiPlugin


@pytest.fixture
def built_ui(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / ui_bundle.BUNDLE).write_text("globalThis.AirflowPlugin = () => null;\n")
    (tmp_path / "secret.txt").write_text("outside dist")
    monkeypatch.setattr(ui_bundle, "UI_DIST", dist)
    return dist


def test_bundle_needs_auth_and_is_revalidated_with_an_etag(airflow_db: object, built_ui: Path) -> None:
    with TestClient(create_app()) as client:
        assert client.get(f"/static/{ui_bundle.BUNDLE}").status_code == 401
        resp = client.get(f"/static/{ui_bundle.BUNDLE}", headers=headers("viewer", "v"))
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/javascript")
        assert resp.headers["cache-control"] == "no-cache"
        etag = resp.headers["etag"]
        again = client.get(f"/static/{ui_bundle.BUNDLE}", headers={**headers("viewer", "v"), "If-None-Match": etag})
        assert again.status_code == 304
        escape = client.get("/static/../secret.txt", headers=headers("viewer", "v"))
        assert escape.status_code == 404
        encoded = client.get("/static/%2e%2e/secret.txt", headers=headers("viewer", "v"))
        assert encoded.status_code == 404


def test_react_pages_replace_the_iframe_once_the_ui_is_built(built_ui: Path) -> None:
    from airflow.api_fastapi.core_api.datamodels.plugins import ReactAppResponse

    plugin = YlaiPlugin()
    apps = [ReactAppResponse.model_validate(a) for a in plugin.react_apps]
    assert [a.url_route for a in apps] == [
        "ylai-overview",
        "ylai-run",
        "ylai-monitor",
        "ylai-logs",
        "ylai-resources",
        "ylai-scripts",
        "ylai-tasks",
        "ylai-alerts",
        "ylai-pipelines",
        "ylai-approvals",
        "ylai-audit",
        "ylai-access",
        "ylai-feedback",
        "ylai-insights",
    ]
    # Airflow 3.3 shows a plugin's menu names as given, whatever its UI language: both (docs/ui.md).
    assert apps[2].name == "ylai Monitor · 监控"
    assert {a.category for a in apps} == {"ylai"}
    assert {a.bundle_url for a in apps} == {"ylai/static/main.umd.cjs"}
    assert plugin.external_views == []


def test_without_a_build_the_status_page_stays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_bundle, "UI_DIST", tmp_path / "missing")
    plugin = YlaiPlugin()
    assert plugin.react_apps == []
    assert [v["url_route"] for v in plugin.external_views] == ["ylai"]
