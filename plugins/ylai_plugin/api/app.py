"""Factory for the FastAPI app that Airflow's api-server mounts at ``/ylai``.

Airflow mounts plugin apps without any authentication (see
``../shared/airflow3-notes.md`` §2), so every router added here carries an auth
dependency; the test suite checks that no route is left open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse

from ylai_plugin import config
from ylai_plugin.api.reference import render_reference
from ylai_plugin.version import ylai_version


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # First, before this worker accepts connections (see api/warmup.py: otherwise the first task's
    # call stalls every request of the worker for seconds, over 30 s on a loaded host), and before
    # the GC freeze below, so that the routes it builds are frozen too.
    from ylai_plugin.api.warmup import warm_execution_api

    await warm_execution_api()
    # Unhandled errors to Sentry when [sentry] sentry_on (SENTRY_DSN): per worker, after the fork.
    from ylai_plugin.api.sentry import init_sentry

    init_sentry()
    # What the approval gates read: the sensitive-script policy and who holds which role.
    import asyncio

    from ylai_plugin.domain.approvals import publish_now

    await asyncio.to_thread(publish_now)
    # Each api-server worker samples its host for /monitor/system.
    if config.SAMPLE_RESOURCES.get():
        from ylai_plugin.monitoring.sampler import start_sampler

        start_sampler("api-server")
    if config.API_GC_FREEZE.get():
        from ylai_plugin.api.gc_tuning import freeze_now_and_later

        freeze_now_and_later()
    yield


def create_app() -> FastAPI:
    """Build the ylai FastAPI app with every route behind Airflow's auth manager."""
    from ylai_plugin.api.commit import commit_in_worker_thread
    from ylai_plugin.api.errors import install_error_handlers
    from ylai_plugin.api.middleware import CorrelationIdMiddleware
    from ylai_plugin.api.openapi import install_openapi, operation_id
    from ylai_plugin.api.outage import RequestTimeoutMiddleware
    from ylai_plugin.api.routes import (
        access,
        approvals,
        audit,
        exports,
        feedback,
        forms,
        health,
        logs,
        me,
        monitor,
        pages,
        pipelines,
        presets,
        resources,
        runs,
        scripts,
        standalone,
        static,
        swagger,
        tasks,
        usage,
    )
    from ylai_plugin.api.routes import alerts as alerts_api
    from ylai_plugin.api.security import rate_limited_user
    from ylai_plugin.api.tracing import instrument
    from ylai_plugin.db.generations import install_listeners

    # The list caches key on the change counters: every write this process makes must raise them.
    install_listeners()
    app = FastAPI(
        lifespan=_lifespan,
        title="ylai API",
        version=ylai_version(),
        description="Scripts, pipelines, presets and monitoring on top of Airflow.",
        # The docs pages would be served unauthenticated; the schema is still
        # reachable, behind auth, at /ylai/api/v1/openapi.json.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        generate_unique_id_function=operation_id,
    )

    # Authenticates (401 otherwise) and takes a token from the caller's rate-limit bucket;
    # FastAPI caches it per request, so routes asking for the user do not pay twice.
    authenticated = [Depends(rate_limited_user)]
    v1 = APIRouter(prefix="/api/v1", dependencies=authenticated)
    v1.include_router(health.router)
    v1.include_router(me.router)
    v1.include_router(tasks.router)
    v1.include_router(presets.router)
    v1.include_router(scripts.router)
    v1.include_router(pipelines.router)
    v1.include_router(runs.router)
    v1.include_router(logs.router)
    v1.include_router(monitor.router)
    v1.include_router(resources.router)
    v1.include_router(alerts_api.router)
    v1.include_router(exports.router)
    v1.include_router(approvals.router)
    v1.include_router(audit.router)
    v1.include_router(access.router)
    v1.include_router(feedback.router)
    v1.include_router(usage.router)
    v1.include_router(forms.router)

    @v1.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, object]:
        return app.openapi()

    @v1.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> str:
        # Self-contained, readable without JavaScript; /api/v1/swagger (routes/swagger.py) is the
        # interactive one, on the Swagger UI files the UI build bundles.
        return render_reference(app.openapi())

    install_error_handlers(app)
    install_openapi(app)
    # Inside the correlation id, so a timed-out request's 503 carries its X-Request-ID too. Direct
    # xlsx/PDF exports are written whole before their first byte (up to export_direct_max_rows). The
    # OpenAPI document needs no dependency; its first build is CPU only and took 33 s on a loaded CI host.
    app.add_middleware(
        RequestTimeoutMiddleware,
        seconds=config.REQUEST_TIMEOUT.get(),
        exempt=("/api/v1/exports", "/api/v1/openapi.json"),
    )
    app.add_middleware(CorrelationIdMiddleware)
    app.include_router(v1)
    commit_in_worker_thread(app.routes)
    app.include_router(pages.router, dependencies=authenticated)
    app.include_router(static.router, dependencies=authenticated)
    # Each route checks the user itself: the HTML pages send anonymous browsers to the login page.
    app.include_router(standalone.router)
    app.include_router(swagger.router)
    # Last: the server span wraps every middleware above (with [traces] otel_on only).
    instrument(app)
    return app
