"""The fast standalone view (``/ylai/app/<page>``, api/standalone.py) on a fake build."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers
from ylai_plugin import ui_bundle
from ylai_plugin.api.app import create_app
from ylai_plugin.api.routes import standalone
from ylai_plugin.domain import access

ENTRY = "standalone-AbCd_123.js"


@pytest.fixture
def built_ui(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    app = dist / "app"
    app.mkdir(parents=True)
    (app / ENTRY).write_text("console.log('ylai');\n")
    manifest = {"src/standalone.tsx": {"file": ENTRY, "isEntry": True, "src": "src/standalone.tsx"}}
    (app / "manifest.json").write_text(json.dumps(manifest))
    keys = ["nav.label", "standalone.openInAirflow", "standalone.language", "standalone.dark"]
    keys += [f"nav.{p}" for p in standalone.PAGES] + [f"{p}.title" for p in standalone.PAGES]
    text = {"en": {k: f"EN {k}" for k in keys}, "zh-CN": {k: f"ZH {k}" for k in keys}}
    text["en"]["run.title"] = "Run </script>"
    shell = {"css": ".ylai{color:red}", "pages": list(standalone.PAGES), "text": text}
    (app / "shell.json").write_text(json.dumps(shell))
    (tmp_path / "secret.js").write_text("outside")
    monkeypatch.setattr(ui_bundle, "UI_DIST", dist)
    return app


@pytest.fixture
def client(airflow_db: object, built_ui: Path) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_every_page_is_served_with_airflow_base_and_the_hashed_entry(client: TestClient) -> None:
    for page in standalone.PAGES:
        resp = client.get(f"/app/{page}?dag_id=x", headers=headers("viewer", "v"))
        assert resp.status_code == 200, page
        assert resp.headers["content-type"].startswith("text/html")
        assert resp.headers["cache-control"] == "no-cache"
        body = resp.text
        assert '<base href="/">' in body
        assert f'<script type="module" src="ylai/app/assets/{ENTRY}"></script>' in body
        assert f'<link rel="modulepreload" href="ylai/app/assets/{ENTRY}">' in body
        assert "<style data-ylai>" in body
        assert ".ylai{color:red}" in body
        # the first paint: the active tab, the page's title and the way back into Airflow
        assert re.search(rf'class="y-tab y-tab-active" href="ylai/app/{page}"', body)
        assert f'href="plugin/ylai-{page}?dag_id=x"' in body
    home = client.get("/app/", headers=headers("viewer", "v"))
    assert home.status_code == 200
    assert 'class="y-tab y-tab-active" href="ylai/app/overview"' in home.text


def test_texts_cannot_end_the_inline_scripts(client: TestClient) -> None:
    body = client.get("/app/run", headers=headers()).text
    assert "Run </script>" not in body
    assert "Run &lt;/script&gt;" in body  # the title, escaped
    assert body.count("</script>") == 3  # boot, localize, module


def test_base_href_is_airflow_base_behind_a_prefix(built_ui: Path, airflow_db: object) -> None:
    # Airflow mounts the app at <base>/ylai; with [api] base_url = http://host/airflow/ the root path is /airflow/ylai.
    with TestClient(create_app(), root_path="/airflow/ylai") as c:
        body = c.get("/app/monitor", headers=headers()).text
    assert '<base href="/airflow/">' in body


def test_unknown_page_is_a_404_in_the_envelope(client: TestClient) -> None:
    resp = client.get("/app/nope", headers=headers())
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"


def test_anonymous_browser_is_sent_to_login_and_back(client: TestClient) -> None:
    client.cookies.clear()
    resp = client.get("/app/run?dag_id=script__disk_usage", follow_redirects=False)
    assert resp.status_code == 303
    location = urlsplit(resp.headers["location"])
    assert location.path.startswith("/auth/login")
    assert parse_qs(location.query)["next"] == ["/app/run?dag_id=script__disk_usage"]
    # a token the auth manager refuses means "log in again" too
    forged = client.get("/app/", headers={"Authorization": "Bearer not-a-jwt"}, follow_redirects=False)
    assert forged.status_code == 303
    # and an unknown page reveals nothing before the login
    assert client.get("/app/nope", follow_redirects=False).status_code == 303


def test_the_login_url_comes_from_the_auth_manager(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    class Manager:
        def get_url_login(self, **kwargs: object) -> str:
            return f"https://sso.example/login?next={kwargs['next_url']}"

    monkeypatch.setattr(access, "auth_manager", lambda: Manager())
    client.cookies.clear()
    resp = client.get("/app/tasks", follow_redirects=False)
    assert resp.headers["location"] == "https://sso.example/login?next=/app/tasks"


def test_assets_need_auth_and_are_immutable(client: TestClient) -> None:
    client.cookies.clear()
    anonymous = client.get(f"/app/assets/{ENTRY}", follow_redirects=False)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    resp = client.get(f"/app/assets/{ENTRY}", headers=headers("viewer", "v"))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/javascript")
    assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert resp.text == "console.log('ylai');\n"


@pytest.mark.parametrize("name", ["manifest.json", "shell.json", "standalone-AbCd_999.js", "..%2Fsecret.js"])
def test_only_hashed_build_files_are_served(client: TestClient, name: str) -> None:
    assert client.get(f"/app/assets/{name}", headers=headers()).status_code == 404


def test_without_the_standalone_build_the_page_says_so(
    client: TestClient, built_ui: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui_bundle, "UI_DIST", built_ui.parent / "missing")
    resp = client.get("/app/run", headers=headers())
    assert resp.status_code == 503
    assert "npm run build" in resp.json()["error"]["message"]


def test_plugin_menu_and_standalone_view_share_pages_json() -> None:
    from ylai_plugin import plugin

    pages = json.loads((Path(plugin.__file__).with_name("pages.json")).read_text(encoding="utf-8"))
    assert [p["id"] for p in pages] == [
        "overview",
        "run",
        "monitor",
        "logs",
        "resources",
        "scripts",
        "tasks",
        "alerts",
        "pipelines",
        "approvals",
        "audit",
        "access",
        "feedback",
        "insights",
    ]
    assert tuple(p["id"] for p in pages) == standalone.PAGES
    assert tuple((p["menu"], f"ylai-{p['id']}") for p in pages) == plugin.UI_PAGES
    # Airflow 3.3 shows menu names as given, whatever its UI language: both languages (docs/ui.md).
    assert plugin.UI_PAGES[0] == ("ylai Overview · 概览", "ylai-overview")
