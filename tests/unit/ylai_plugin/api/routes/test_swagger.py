"""The interactive API docs (``/ylai/api/v1/swagger``, api/routes/swagger.py) on a fake UI build."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, token
from ylai_plugin import ui_bundle
from ylai_plugin.api.app import create_app
from ylai_plugin.api.routes import swagger

# Where Airflow's api-server mounts the app (plugin.py); the page's relative URLs resolve against it.
PAGE_URL = "http://airflow.example:8080/ylai/api/v1/swagger"
MOUNT = "/ylai"


@pytest.fixture
def built_ui(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dist" / swagger.SWAGGER_DIR
    folder.mkdir(parents=True)
    for name in swagger.ASSETS:
        (folder / name).write_text(f"/* {name} */\n")
    monkeypatch.setattr(ui_bundle, "UI_DIST", tmp_path / "dist")
    return folder


@pytest.fixture
def client(airflow_db: object, built_ui: Path) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


class _Refs(HTMLParser):
    """Every URL the page loads or links to (src, href), in order."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value is not None]


def refs(page: str) -> list[str]:
    parser = _Refs()
    parser.feed(page)
    return parser.urls


def test_anonymous_browsers_are_sent_to_the_login_page(client: TestClient) -> None:
    for creds in ({}, {"Authorization": "Bearer not-a-jwt"}):
        resp = client.get("/api/v1/swagger", headers=creds, follow_redirects=False)
        assert resp.status_code == 303
        location = urlsplit(resp.headers["location"])
        assert location.path.startswith("/auth/login")
        assert parse_qs(location.query)["next"] == ["/api/v1/swagger"]


@pytest.mark.parametrize("how", ["bearer", "cookie"])
def test_a_logged_in_user_gets_the_page(client: TestClient, how: str) -> None:
    if how == "cookie":
        client.cookies.set("_token", token("viewer", "v"))
        resp = client.get("/api/v1/swagger")
    else:
        resp = client.get("/api/v1/swagger", headers=headers("viewer", "v"))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["cache-control"] == "no-cache"
    assert 'id="swagger-ui"' in resp.text


def test_the_page_loads_only_ylai_s_own_assets(client: TestClient) -> None:
    page = client.get("/api/v1/swagger", headers=headers()).text
    # Nothing names another host: no absolute URL at all, and no protocol-relative one.
    assert "http://" not in page
    assert "https://" not in page
    urls = refs(page)
    assert urls, "the page loads Swagger UI's files"
    for url in urls:
        assert not urlsplit(url).scheme, url
        assert not urlsplit(url).netloc, url
    resolved = [urlsplit(urljoin(PAGE_URL, url)).path for url in urls]
    assets = {path for path in resolved if path.startswith(f"{MOUNT}/static/")}
    assert assets == {f"{MOUNT}/static/{swagger.SWAGGER_DIR}/{name}" for name in swagger.ASSETS}
    # The assets are served, behind the same login as the page.
    for path in assets:
        assert client.get(path.removeprefix(MOUNT), headers=headers()).status_code == 200, path
        assert client.get(path.removeprefix(MOUNT)).status_code == 401, path
    # The links (the static reference, the document, ylai's pages) are ylai's routes too.
    for path in set(resolved) - assets:
        assert path.startswith(f"{MOUNT}/"), path
        assert client.get(path.removeprefix(MOUNT), headers=headers()).status_code != 404, path
    # The online validator would send the document to validator.swagger.io: switched off.
    assert "validatorUrl: null" in page
    # The document and "Try it out" go out with the browser's login, as ylai's own pages do.
    assert 'fetch("openapi.json", {credentials: "same-origin"' in page
    assert 'req.credentials = "same-origin"' in page


def test_the_static_reference_links_to_it(client: TestClient) -> None:
    reference = client.get("/api/v1/docs", headers=headers())
    assert reference.status_code == 200
    assert urlsplit(urljoin(PAGE_URL.replace("swagger", "docs"), "swagger")).path in {
        urlsplit(urljoin(PAGE_URL.replace("swagger", "docs"), url)).path for url in refs(reference.text)
    }


def test_without_the_build_the_page_says_how_to_build_it(client: TestClient, built_ui: Path) -> None:
    (built_ui / "swagger-ui-bundle.js").unlink()
    resp = client.get("/api/v1/swagger", headers=headers())
    assert resp.status_code == 503
    assert "npm run build" in resp.json()["error"]["message"]
