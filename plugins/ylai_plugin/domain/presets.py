"""Presets: saved parameter sets for any DAG with params, private to their owner or shared with a role.

Another user's private preset does not exist for you (NotFound, never Forbidden); only its
owner or an Admin may change it. Answers are plain dicts with the params' secret values
masked; errors are :mod:`ylai_plugin.domain.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, or_

from ylai_plugin.db.models import Preset
from ylai_plugin.domain import access, audit, dags
from ylai_plugin.domain.errors import CANNOT_BE_NULL, Forbidden, Invalid, Text, flush_or_conflict, not_found, text
from ylai_plugin.domain.paging import PageQuery, fetch_page, given_equal, name_contains

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser


def is_admin(user: BaseUser) -> bool:
    """Whether the user has the Admin role (who may change every preset they can see)."""
    return "Admin" in access.user_roles(user) or "admin" in access.user_roles(user)


def _visible(user: BaseUser) -> ColumnElement[bool]:
    roles = access.user_roles(user)
    return or_(Preset.owner == user.get_name(), Preset.shared_with_role.in_(roles))


def view(
    preset: Preset, user: BaseUser, session: Any, secret: frozenset[str] | None = None, *, editable: bool | None = None
) -> dict[str, Any]:
    """A preset as ``user`` sees it: secret params masked, its DAG's kind and name, whether they may edit it."""
    if secret is None:
        secret = dags.secret_params([preset.dag_id], session)[preset.dag_id]
    if editable is None:
        editable = preset.owner == user.get_name() or is_admin(user)
    described = dags.kind_and_name(preset.dag_id)
    return {
        "id": preset.id,
        "name": preset.name,
        "dag_id": preset.dag_id,
        "dag_kind": described["kind"],
        "dag_name": described["name"],
        "description": preset.description,
        "params": dags.mask(preset.params, secret),
        "owner": preset.owner,
        "shared_with_role": preset.shared_with_role,
        "visibility": "shared" if preset.shared_with_role else "private",
        "editable": editable,
        "created_at": preset.created_at,
        "updated_at": preset.updated_at,
    }


def name_taken(name: str) -> Text:
    """The conflict of a second preset with the same name (names are unique per owner and DAG)."""
    return text("preset.name_taken", "You already have a preset named {name!r} for this DAG", name=name)


def get(session: Any, user: BaseUser, preset_id: int, *, write: bool = False) -> Preset:
    """The preset if ``user`` may see it (and, with ``write``, change it)."""
    preset: Preset | None = session.get(Preset, preset_id)
    roles = access.user_roles(user)
    if preset is None or (preset.owner != user.get_name() and preset.shared_with_role not in roles):
        raise not_found("Preset", preset_id)  # another user's private preset does not exist for you
    access.ensure_dag_access(user, preset.dag_id)
    if write and preset.owner != user.get_name() and not is_admin(user):
        raise Forbidden(text("preset.owner_only", "Only the owner (or an Admin) may change this preset"))
    return preset


def create(session: Any, user: BaseUser, fields: dict[str, Any]) -> dict[str, Any]:
    """Save a preset (``fields``: name, dag_id, description, params, shared_with_role) owned by ``user``."""
    dag_id, name, role = fields["dag_id"], fields["name"], fields.get("shared_with_role")
    access.ensure_dag_access(user, dag_id)
    dags.validate_params(dags.get_dag(dag_id, session), fields["params"], partial=True)
    if role and role not in access.user_roles(user) and not is_admin(user):
        raise Invalid.at("body.shared_with_role", text("preset.share_own_roles", "you can only share with your roles"))
    preset = Preset(**fields, owner=user.get_name())
    session.add(preset)
    flush_or_conflict(session, name_taken(name))
    audit.record(
        session, user, "ylai.preset.create", "preset", preset.id, summary=f"created preset {name!r}", dag_id=dag_id
    )
    return view(preset, user, session)


def page(
    session: Any,
    user: BaseUser,
    paging: PageQuery,
    *,
    dag_id: str | None = None,
    visibility: str | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the user's presets and those shared with one of their roles, for DAGs they may read."""
    where = [_visible(user), Preset.dag_id.in_(access.readable_dag_ids(user)), *given_equal((Preset.dag_id, dag_id))]
    if visibility == "private":
        where.append(Preset.shared_with_role.is_(None))
    elif visibility == "shared":
        where.append(Preset.shared_with_role.is_not(None))
    if q:
        where.append(name_contains(Preset.name, q))
    rows, total = fetch_page(session, Preset, where, paging.order_by, paging.limit, paging.offset)
    secrets = dags.secret_params({p.dag_id for p in rows}, session)  # once per DAG, not per row
    name, admin = user.get_name(), is_admin(user)  # once per request, not per row
    return [view(p, user, session, secrets[p.dag_id], editable=p.owner == name or admin) for p in rows], total


def read(session: Any, user: BaseUser, preset_id: int) -> dict[str, Any]:
    """One preset, as :func:`view`."""
    return view(get(session, user, preset_id), user, session)


def update(session: Any, user: BaseUser, preset_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a preset the user owns (or any, for an Admin); ``changes``: only the fields given."""
    preset = get(session, user, preset_id, write=True)
    for key in ("name", "params"):
        if key in changes and changes[key] is None:
            raise Invalid.at(f"body.{key}", CANNOT_BE_NULL)
    if "params" in changes:
        dags.validate_params(dags.get_dag(preset.dag_id, session), changes["params"], partial=True)
    for key, value in changes.items():
        setattr(preset, key, "" if key == "description" and value is None else value)
    flush_or_conflict(session, name_taken(preset.name))
    changed = audit.changed_fields(changes)
    summary = f"changed {', '.join(changed) or 'nothing'} of preset {preset.name!r}"
    audit.record(
        session, user, "ylai.preset.update", "preset", preset.id, summary=summary, dag_id=preset.dag_id, changed=changed
    )
    return view(preset, user, session)


def delete(session: Any, user: BaseUser, preset_id: int) -> None:
    """Delete a preset the user owns (or any, for an Admin)."""
    preset = get(session, user, preset_id, write=True)
    session.delete(preset)
    summary = f"deleted preset {preset.name!r}"
    audit.record(session, user, "ylai.preset.delete", "preset", preset_id, summary=summary, dag_id=preset.dag_id)
