"""The ``AirflowPlugin`` that registers ylai with Airflow (entry point ``airflow.plugins``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from ylai_operators.catalog import warm_imports
from ylai_plugin import listeners as listener

# Tasks fork from the components that load this plugin (the scheduler, before it starts the
# LocalExecutor's workers): import what every ylai task imports once, here, not in each task.
warm_imports()

URL_PREFIX = "/ylai"


# pages.json: the one list of ylai's pages, also read by the standalone view and the UI's navigation.
UI_PAGES = tuple(
    (page["menu"], f"ylai-{page['id']}")
    for page in json.loads(Path(__file__).with_name("pages.json").read_text(encoding="utf-8"))
)


def ui_pages() -> list[dict[str, Any]]:
    """One ``react_apps`` entry per page, all served by the same bundle (empty when not built)."""
    from ylai_plugin.ui_bundle import BUNDLE, bundle_exists

    if not bundle_exists():
        return []
    return [
        {
            "name": name,
            # Relative to the UI's base URL, so it works behind any [api] base_url.
            "bundle_url": f"{URL_PREFIX.lstrip('/')}/static/{BUNDLE}",
            "url_route": route,
            "destination": "nav",
            "category": "ylai",
        }
        for name, route in UI_PAGES
    ]


@cache
def _fastapi_app() -> Any:
    # Built on first access only: importing FastAPI and Airflow's security
    # module costs seconds, and the scheduler, dag-processor and task runners
    # load plugins too but never mount apps.
    from ylai_plugin.api.app import create_app
    from ylai_plugin.api.outage import guard_airflow_login

    # Airflow's cookie check runs before the app and needs the database: during an outage the
    # UI's requests get ylai's 503 from it, not the root app's bare 500.
    guard_airflow_login(URL_PREFIX)
    return create_app()


class YlaiPlugin(AirflowPlugin):
    """Mounts ylai's API and pages on the api-server and adds the "ylai" nav entry.

    Also counts every ``/api/v2`` and ``/ylai`` request (a root middleware) and, through a
    lifecycle listener, samples the scheduler's host when it runs tasks itself.
    """

    name = "ylai"
    listeners: list[Any] = [listener]

    @property
    def external_views(self) -> list[Any]:  # type: ignore[override]
        """Without a built UI, one "ylai" entry with a status page (an iframe)."""
        if ui_pages():
            return []
        return [
            {
                "name": "ylai",
                # Relative href: same origin as the UI, so the _token cookie flows into the iframe.
                "href": URL_PREFIX.lstrip("/") + "/",
                "url_route": "ylai",
                "destination": "nav",
                "nav_top_level": True,
            }
        ]

    @property
    def react_apps(self) -> list[Any]:  # type: ignore[override]
        """Ylai's pages, rendered inside Airflow's UI shell, grouped under a "ylai" menu."""
        return ui_pages()

    @property
    def fastapi_root_middlewares(self) -> list[Any]:  # type: ignore[override]
        """Request statistics for ``/monitor/apis``, shared by all api-server workers via the DB."""
        from ylai_plugin.monitoring.api_stats import ApiStatsMiddleware

        return [{"middleware": ApiStatsMiddleware, "args": [], "kwargs": {}, "name": "ylai API statistics"}]

    # A lazy, read-only stand-in for the class attribute Airflow reads.
    @property
    def fastapi_apps(self) -> list[Any]:  # type: ignore[override]
        """The ylai FastAPI app, mounted at ``/ylai``."""
        return [{"app": _fastapi_app(), "url_prefix": URL_PREFIX, "name": "ylai"}]
