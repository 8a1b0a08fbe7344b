"""The ``ylai`` command line: ``ylai run``, ``ylai env``, ``ylai alerts``, ``ylai component``, ..."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path


def _env_command(root: Path) -> int:
    from ylai_plugin.platform_env import PlatformConfigError, airflow_environment, resolve_settings

    try:
        settings = resolve_settings(dict(os.environ), root)
    except PlatformConfigError as exc:
        print(f"ylai: configuration error: {exc}", file=sys.stderr)
        return 2
    env = airflow_environment(settings, {})
    for key in sorted(env):
        print(f"export {key}={shlex.quote(env[key])}")
    return 0


def openapi_document() -> str:
    """Ylai's OpenAPI document as stable, pretty-printed JSON."""
    import json

    from ylai_plugin.api.app import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _openapi_command(output: Path) -> int:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(openapi_document())
    print(f"wrote {output}")
    return 0


def as_server_component() -> None:
    """Mark this process as one of the platform's server components, as Airflow's scheduler does.

    Provider hooks look connections up through ``airflow.sdk``, which reads the metadata database
    (``MetastoreBackend``) only in a "server" process context; anywhere else it falls back to
    environment variables and the configured secrets backend, so a connection created in Airflow's
    UI or REST API would not be found. Must run before the first connection lookup (the backends
    are loaded once per process).
    """
    os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "server"


def _alerts_command(interval: float | None, *, once: bool) -> int:
    import logging

    as_server_component()
    from ylai_plugin import config
    from ylai_plugin.alerts import evaluator
    from ylai_plugin.json_logs import configure_stdlib

    configure_stdlib("alerts", os.environ, level=logging.INFO)
    if once:
        print(evaluator.tick())
        return 0
    every = interval if interval is not None else config.ALERT_INTERVAL_SECONDS.get()
    evaluator.run_forever(max(every, 1.0))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ylai`` console script."""
    parser = argparse.ArgumentParser(prog="ylai", description="Run and manage the ylai platform.")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path.cwd(),
        help="the ylai checkout (its dags/ folder is the DAGs folder); default: current directory",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, create the admin user and run every Airflow component")
    sub.add_parser("sync-perms", help="create ylai's FAB resources and grant them to the default roles")
    alerts = sub.add_parser(
        "alerts",
        help="run the alert evaluator (metric rules, escalation, delivery retries); safe in several replicas",
    )
    alerts.add_argument("--interval", type=float, default=None, help="seconds between passes (default: config)")
    alerts.add_argument("--once", action="store_true", help="evaluate once and exit (prints the counters)")
    alerts.add_argument(
        "--check", action="store_true", help="health check: exit 0 if some replica holds a valid evaluator lease"
    )
    openapi = sub.add_parser("openapi", help="write ylai's OpenAPI document (default: docs/api/openapi.json)")
    openapi.add_argument("--output", type=Path, default=None)
    sub.add_parser(
        "env",
        help="print the AIRFLOW_* exports the platform uses, for `eval $(ylai env)` before `airflow ...`",
    )
    component = sub.add_parser(
        "component",
        help="run one component's command (a container's), as JSON lines when YLAI_LOG_FORMAT=json",
        description="Run COMMAND as the platform component NAME (docs/logging.md). With YLAI_LOG_FORMAT=json "
        "every line it writes becomes one JSON object with ylai's keys; otherwise COMMAND replaces this process.",
    )
    component.add_argument("name", help="the component's name in the log lines, e.g. scheduler")
    component.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command to run")
    args = parser.parse_args(argv)
    if args.command == "component":
        from ylai_plugin.component_runner import run_component

        return run_component(args.name, args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd)
    if args.command == "env":
        return _env_command(args.root)
    if args.command == "alerts":
        if args.check:
            from ylai_plugin.alerts.evaluator import lease_is_held

            return 0 if lease_is_held() else 1
        return _alerts_command(args.interval, once=args.once)
    if args.command == "openapi":
        return _openapi_command(args.output or args.root / "docs" / "api" / "openapi.json")
    if args.command == "sync-perms":
        from ylai_plugin.permissions import main as sync_main

        sync_main()
        return 0
    from ylai_plugin.run_platform import run

    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
