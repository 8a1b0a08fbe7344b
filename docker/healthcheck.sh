#!/usr/bin/env bash
# Health check of a ylai container, whichever Airflow component it runs.
#
# The component is read from YLAI_COMPONENT or else from the command line of PID 1
# (the image's entrypoint runs e.g. `/usr/bin/dumb-init -- /entrypoint api-server`).
set -euo pipefail

component="${YLAI_COMPONENT:-}"
if [[ -z "${component}" && -r /proc/1/cmdline ]]; then
    component="$(tr '\0' ' ' </proc/1/cmdline)"
fi

case "${component}" in
    *api-server*)
        exec curl --fail --silent --show-error --max-time 20 --output /dev/null \
            "http://localhost:${AIRFLOW__API__PORT:-8080}/api/v2/monitor/health"
        ;;
    *"celery worker"*)
        exec celery --app airflow.providers.celery.executors.celery_executor.app \
            inspect ping --destination "celery@${HOSTNAME}" --timeout 20
        ;;
    *"celery flower"*)
        exec curl --fail --silent --show-error --max-time 20 --output /dev/null http://localhost:5555/healthcheck
        ;;
    *scheduler*)
        exec airflow jobs check --job-type SchedulerJob --local
        ;;
    *dag-processor*)
        exec airflow jobs check --job-type DagProcessorJob --local
        ;;
    *triggerer*)
        exec airflow jobs check --job-type TriggererJob --local
        ;;
    *"ylai_plugin.cli alerts"*)
        exec ylai alerts --check
        ;;
    *)
        # One-off commands (db migrate, ylai sync-perms, bash, ...) have nothing to probe.
        exit 0
        ;;
esac
