"""FastAPI dependencies of ylai's routes: the authenticated user, rate limiting and ``requires(...)``.

The rate limit's buckets (in Redis or in process) live in :mod:`ylai_plugin.domain.rate_limit`;
this module turns an empty bucket into the 429.

HTML pages (the standalone view, the interactive API docs) ask for :data:`PageUser` instead of the
user: an anonymous browser is sent to Airflow's login page (:func:`login_redirect`), not given a 401.

The permission checks themselves live in :mod:`ylai_plugin.domain.access`; this module only
wires them into FastAPI's dependency injection.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import GetUserDep, bearer_scheme, get_user
from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials

from ylai_plugin import tracing
from ylai_plugin.api.errors import ApiError
from ylai_plugin.domain import access, rate_limit
from ylai_plugin.domain.errors import text


def take_token(user: BaseUser) -> BaseUser:
    """``user``, after taking a token from their rate-limit bucket (429 when it is empty)."""
    tracing.tag_user(user.get_id(), user.get_name())
    wait = rate_limit.get_limiter().take(f"{type(user).__name__}:{user.get_id()}")
    if wait > 0:
        seconds = math.ceil(wait)
        message = text("rate_limited", "Too many requests; retry in {seconds} s", seconds=seconds)
        raise ApiError(429, message, {"retry_after": seconds}).with_headers({"Retry-After": str(seconds)})
    return user


# The dependencies below are coroutines, like Airflow's own ``requires_access_*``: they run on
# the event loop, so a request does not pay a thread-pool round trip per dependency (a sync
# dependency is sent to the thread pool and back, which cost more than the check itself).
async def rate_limited_user(user: GetUserDep) -> BaseUser:
    """The authenticated user, after taking a token from their bucket (429 when empty)."""
    return take_token(user)


UserDep = Annotated[BaseUser, Depends(rate_limited_user)]


async def user_or_none(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> BaseUser | None:
    """The caller, checked by Airflow's auth manager; ``None`` when it is not authenticated.

    Missing or expired tokens (401) and tokens the auth manager rejects (403: signed with an
    old secret, say) both mean "log in again"; the rate limit still applies to known users.
    """
    try:
        user = await get_user(request, None, bearer)
    except HTTPException as exc:
        if exc.status_code in (401, 403):
            return None
        raise
    return take_token(user)


PageUser = Annotated[BaseUser | None, Depends(user_or_none)]


def login_redirect(request: Request) -> RedirectResponse:
    """303 to Airflow's login page, coming back to this very page afterwards."""
    path = request.url.path
    target = f"{path}?{request.url.query}" if request.url.query else path
    return RedirectResponse(access.auth_manager().get_url_login(next_url=target), status_code=303)


def requires(resource: str, method: str = "GET") -> Callable[[BaseUser], Coroutine[Any, Any, None]]:
    """Dependency: the user may perform ``method`` on ylai's custom ``resource`` (403 otherwise)."""

    async def check(user: UserDep) -> None:
        access.ensure_view_access(user, resource, method)

    return check
