"""ylai's interactive API docs (``/ylai/api/v1/swagger``: Swagger UI) in Chromium on a real platform."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.conftest import Session, screenshot
from tests.integration.running_platform import RunningPlatform

SWAGGER = "/ylai/api/v1/swagger"
# Swagger UI names each operation's block after its tag and operation id.
LIST_SCRIPTS = "#operations-scripts-list_scripts"


def test_ylai_pages_link_to_the_api_docs_in_a_new_tab(admin: Session) -> None:
    page = admin.page()
    admin.goto(page, "overview")
    link = page.get_attribute('[data-testid="api-docs-link"]', "href") or ""
    assert urlsplit(link).path == SWAGGER
    with page.expect_popup() as popup:
        page.click('[data-testid="api-docs-link"]')
    popup.value.wait_for_selector(LIST_SCRIPTS, timeout=60_000)
    popup.value.close()
    page.close()


def test_try_it_out_calls_the_api_with_the_browser_s_login(admin: Session, platform: RunningPlatform) -> None:
    docs = admin.page()
    # Everything the page loads, and every call it makes, stays on this Airflow.
    urls: list[str] = []
    docs.on("request", lambda req: urls.append(req.url))
    docs.goto(f"{platform.base_url}{SWAGGER}")
    docs.wait_for_selector(LIST_SCRIPTS, timeout=60_000)

    docs.click(f"{LIST_SCRIPTS} .opblock-summary")
    docs.click(f"{LIST_SCRIPTS} button.try-out__btn")
    with docs.expect_response(lambda r: urlsplit(r.url).path == "/ylai/api/v1/scripts") as answer:
        docs.click(f"{LIST_SCRIPTS} button.execute")
    assert answer.value.status == 200
    # The login went along the way ylai's pages send it (ui/src/api/client.ts): Airflow's _token cookie.
    assert "_token=" in (answer.value.request.header_value("cookie") or "")

    live = f"{LIST_SCRIPTS} .live-responses-table tr.response"
    docs.wait_for_selector(f"{live} .response-col_status")
    assert docs.inner_text(f"{live} .response-col_status").strip() == "200"
    # The request went to <base>/ylai, where the document's relative server points on this Airflow.
    request_url = docs.inner_text(f"{LIST_SCRIPTS} .request-url pre").strip()
    assert request_url.startswith(f"{platform.base_url}/ylai/api/v1/scripts"), request_url
    body = json.loads(docs.inner_text(f"{live} .response-col_description .highlight-code pre"))
    names = {item["name"] for item in body["items"]}
    assert {"disk_usage", "quality_gate"} <= names
    assert body["total"] >= len(body["items"])
    screenshot(docs, "api-docs-try-it-out")

    origin = urlsplit(platform.base_url).netloc
    foreign = [u for u in urls if u.startswith("http") and urlsplit(u).netloc != origin]
    assert not foreign, f"the API docs loaded from other hosts: {foreign}"
    assert any(urlsplit(u).path == "/ylai/static/swagger-ui/swagger-ui-bundle.js" for u in urls)
    errors = [e for e in admin.own_errors() if urlsplit(e["page"]).path == SWAGGER]
    assert not errors, f"console errors on the API docs: {errors}"
    docs.close()


def test_anonymous_browser_logs_in_and_comes_back_to_the_api_docs(browser: Any, platform: RunningPlatform) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{platform.base_url}{SWAGGER}")
        page.wait_for_url(re.compile(r"/auth/login"), timeout=60_000)
        assert "next=" in page.url
        # Swagger UI's files are behind the same login.
        assert context.request.get(f"{platform.base_url}/ylai/static/swagger-ui/swagger-ui-bundle.js").status == 401
        page.fill("input[name=username]", platform.username)
        page.fill("input[name=password]", platform.password)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url(re.compile(re.escape(SWAGGER) + "$"), timeout=60_000)
        page.wait_for_selector(LIST_SCRIPTS, timeout=60_000)
    finally:
        context.close()
