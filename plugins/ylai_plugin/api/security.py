"""Authorization for ylai's routes: custom FAB resources, DAG-level checks and rate limiting.

Resources are checked with the auth manager's ``is_authorized_custom_view``: under FAB
that means ``can_read``/``can_create``/``can_edit``/``can_delete`` on "ylai Tasks" etc.
(created by :mod:`ylai_plugin.permissions`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends

from ylai_plugin.api.errors import ApiError


def _auth_manager() -> Any:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


class TokenBucket:
    """Per-key token bucket: ``rate`` tokens per second, up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Take a token; return 0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._state.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / self.rate


_bucket: TokenBucket | None = None


def _get_bucket() -> TokenBucket:
    global _bucket
    if _bucket is None:
        from airflow.configuration import conf

        per_minute = conf.getint("ylai", "rate_limit_per_minute", fallback=600)
        burst = conf.getint("ylai", "rate_limit_burst", fallback=120)
        _bucket = TokenBucket(rate=max(per_minute, 1) / 60.0, burst=max(burst, 1))
    return _bucket


def take_token(user: BaseUser) -> BaseUser:
    """``user``, after taking a token from their rate-limit bucket (429 when it is empty)."""
    wait = _get_bucket().take(f"{type(user).__name__}:{user.get_id()}")
    if wait > 0:
        raise ApiError(
            429, f"Too many requests; retry in {math.ceil(wait)} s", {"retry_after": math.ceil(wait)}
        ).with_headers({"Retry-After": str(math.ceil(wait))})
    return user


# The dependencies below are coroutines, like Airflow's own ``requires_access_*``: they run on
# the event loop, so a request does not pay a thread-pool round trip per dependency (a sync
# dependency is sent to the thread pool and back, which cost more than the check itself).
async def rate_limited_user(user: GetUserDep) -> BaseUser:
    """The authenticated user, after taking a token from their bucket (429 when empty)."""
    return take_token(user)


UserDep = Annotated[BaseUser, Depends(rate_limited_user)]


def requires(resource: str, method: str = "GET") -> Callable[[BaseUser], Coroutine[Any, Any, None]]:
    """Dependency: the user may perform ``method`` on ylai's custom ``resource``."""

    async def check(user: UserDep) -> None:
        if not _auth_manager().is_authorized_custom_view(method=method, resource_name=resource, user=user):
            action = {"GET": "read", "POST": "create", "PATCH": "edit", "PUT": "edit", "DELETE": "delete"}
            raise ApiError(403, f"You may not {action.get(method, method)} {resource}")

    return check


def can_access_dag(user: BaseUser, dag_id: str, method: str = "GET", entity: str | None = None) -> bool:
    """Whether ``user`` may ``method`` the DAG (or one of its entities such as RUN or TASK_LOGS)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    access_entity = DagAccessEntity[entity] if entity else None
    return bool(
        _auth_manager().is_authorized_dag(
            method=method, access_entity=access_entity, details=DagDetails(id=dag_id), user=user
        )
    )


def ensure_dag_access(user: BaseUser, dag_id: str, method: str = "GET", entity: str | None = None) -> None:
    """Raise 404 when the user may not even see the DAG, 403 when they may see but not ``method`` it."""
    if not can_access_dag(user, dag_id, "GET"):
        # Do not reveal that a DAG the user cannot see exists.
        raise ApiError(404, f"DAG {dag_id!r} not found")
    if (method, entity) != ("GET", None) and not can_access_dag(user, dag_id, method, entity):
        raise ApiError(403, f"You may not {method} {entity or 'DAG'} of {dag_id!r}")


def readable_dag_ids(user: BaseUser) -> set[str]:
    """DAG ids the user may read."""
    return set(_auth_manager().get_authorized_dag_ids(user=user, method="GET"))


def user_roles(user: BaseUser) -> set[str]:
    """Role names of the user, for FAB users and SimpleAuthManager users alike."""
    roles = getattr(user, "roles", None)
    if roles is not None:
        return {getattr(r, "name", str(r)) for r in roles}
    role = getattr(user, "role", None)
    return {str(role)} if role else set()
