from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
from fastapi import FastAPI

from ylai_plugin.plugin import YlaiPlugin


def test_registered_through_the_airflow_plugins_entry_point() -> None:
    eps = [ep for ep in entry_points(group="airflow.plugins") if ep.name == "ylai"]
    assert len(eps) == 1
    assert eps[0].value == "ylai_plugin.plugin:YlaiPlugin"
    assert eps[0].load() is YlaiPlugin


def test_airflow_plugin_manager_loads_it() -> None:
    from airflow import plugins_manager

    plugins_manager._get_plugins.cache_clear()
    plugins, _import_errors = plugins_manager._get_plugins()
    assert "ylai" in [p.name for p in plugins]


def test_mounts_a_fastapi_app_at_ylai() -> None:
    apps = YlaiPlugin().fastapi_apps
    assert len(apps) == 1
    assert apps[0]["url_prefix"] == "/ylai"
    assert isinstance(apps[0]["app"], FastAPI)
    # The same app object on every access: Airflow must not mount two copies.
    assert YlaiPlugin().fastapi_apps[0]["app"] is apps[0]["app"]


def test_nav_entry_passes_airflow_ui_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GET /api/v2/plugins silently drops a plugin whose views fail this model.
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    from ylai_plugin import ui_bundle

    monkeypatch.setattr(ui_bundle, "UI_DIST", tmp_path / "not-built")  # the status page is the fallback

    views = [ExternalViewResponse.model_validate(v) for v in YlaiPlugin().external_views]
    assert [(v.name, v.destination, v.url_route) for v in views] == [("ylai", "nav", "ylai")]
    assert not views[0].href.startswith("/"), "relative href keeps the iframe same-origin"
