"""Create the platform's admin user once, with FAB's security manager.

Run as ``python -m ylai_plugin.admin_user`` with a JSON object
``{"username": ..., "password": ...}`` on stdin, so the password never shows up
in ``ps`` output the way ``airflow users create --password`` would. Prints one
JSON line: ``{"created": true|false}``.
"""

from __future__ import annotations

import json
import sys


def ensure_admin(username: str, password: str) -> bool:
    """Create ``username`` with the Admin role unless it exists; return whether it was created."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        if sm.find_user(username=username):
            return False
        role = sm.find_role("Admin")
        if role is None:  # pragma: no cover - FAB always creates Admin during migrate
            raise SystemExit("FAB role 'Admin' is missing; did `airflow db migrate` run?")
        user = sm.add_user(username, "ylai", "Admin", f"{username}@localhost", role, password)
        if not user:
            raise SystemExit(f"FAB refused to create user {username!r}")
        return True


def main() -> None:
    """Read the request from stdin and print whether the user was created."""
    request = json.loads(sys.stdin.read())
    created = ensure_admin(request["username"], request["password"])
    print(json.dumps({"created": created}))


if __name__ == "__main__":
    main()
