"""Create ylai's FAB resources and grant them to Airflow's default roles.

Run by ``ylai run`` (and ``ylai sync-perms`` for Docker/Helm init jobs): FAB refuses
to grant a permission on a resource that does not exist yet, so someone has to
create "ylai Tasks" & co. first. Idempotent; it only ever adds permissions.

Default mapping: Viewer reads; User and Op also run and manage tasks, presets and alert
rules, start exports, and create and edit pipelines;
Admin can do everything, including creating scripts, and alone reads feedback and usage
insights. Viewer and User also get ``can_read`` on Plugins, without which Airflow's UI hides
plugin menu entries.
"""

from __future__ import annotations

import sys

RESOURCE_TASKS = "ylai Tasks"
RESOURCE_SCRIPTS = "ylai Scripts"
RESOURCE_PRESETS = "ylai Presets"
RESOURCE_MONITOR = "ylai Monitor"
RESOURCE_ALERTS = "ylai Alerts"
RESOURCE_REPORTS = "ylai Reports"
RESOURCE_PIPELINES = "ylai Pipelines"
# can_read: see approval requests; can_edit: approve or reject one (the domain checks approvers).
RESOURCE_APPROVALS = "ylai Approvals"
# can_read: the feedback list; can_edit: mark handled, reply. Anyone signed in may give feedback.
RESOURCE_FEEDBACK = "ylai Feedback"
# can_read: usage statistics and click heatmaps. Anyone signed in sends the page-view beacon.
RESOURCE_INSIGHTS = "ylai Insights"
RESOURCES = (
    RESOURCE_TASKS,
    RESOURCE_SCRIPTS,
    RESOURCE_PRESETS,
    RESOURCE_MONITOR,
    RESOURCE_ALERTS,
    RESOURCE_REPORTS,
    RESOURCE_PIPELINES,
    RESOURCE_APPROVALS,
    RESOURCE_FEEDBACK,
    RESOURCE_INSIGHTS,
)
# What people say and do is for Admins only: Viewer, User and Op get nothing of these.
ADMIN_ONLY = (RESOURCE_FEEDBACK, RESOURCE_INSIGHTS)
ACTIONS = ("can_read", "can_create", "can_edit", "can_delete")
MANAGE = ("can_read", "can_create", "can_edit", "can_delete")

_USER_GRANTS: dict[str, tuple[str, ...]] = {
    RESOURCE_TASKS: MANAGE,
    RESOURCE_PRESETS: MANAGE,
    RESOURCE_SCRIPTS: ("can_read",),
    RESOURCE_MONITOR: ("can_read",),
    # Alert rules and silences are managed like tasks; exports are "created" (an export job).
    RESOURCE_ALERTS: MANAGE,
    RESOURCE_REPORTS: ("can_read", "can_create"),
    # Analysts compose pipelines; deleting one stays with Admin.
    RESOURCE_PIPELINES: ("can_read", "can_create", "can_edit"),
    # Deciding needs can_edit; whether a user may decide on one request is the domain's rule.
    RESOURCE_APPROVALS: ("can_read", "can_edit"),
}
ROLE_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "Viewer": {
        **dict.fromkeys((r for r in RESOURCES if r not in ADMIN_ONLY), ("can_read",)),
        "Plugins": ("can_read",),
    },
    "User": {**_USER_GRANTS, "Plugins": ("can_read",)},
    "Op": dict(_USER_GRANTS),
    "Admin": dict.fromkeys(RESOURCES, ACTIONS),
}


def sync_permissions() -> list[str]:
    """Create the resources and grants; return what was granted, as ``role: action on resource``."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    granted = []
    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        for resource in RESOURCES:
            for action in ACTIONS:
                sm.create_permission(action, resource)
        for role_name, grants in ROLE_GRANTS.items():
            role = sm.find_role(role_name)
            if role is None:
                continue
            for resource, actions in grants.items():
                for action in actions:
                    permission = sm.get_permission(action, resource)
                    if permission is not None and permission not in role.permissions:
                        sm.add_permission_to_role(role, permission)
                        granted.append(f"{role_name}: {action} on {resource}")
    return granted


def main() -> None:
    """Print what was granted (nothing on a second run)."""
    granted = sync_permissions()
    print(f"ylai permissions in sync ({len(granted)} granted)")
    for line in granted:
        print(f"  {line}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
