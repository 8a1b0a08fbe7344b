"""What the ylai plugin uses of ``ylai_operators``: the package's public face, in one module.

The plugin (API, domain, alerts, supervisor) imports these names from here and from nowhere
else in ``ylai_operators``, so the modules behind them can move without touching the plugin.
DAG files and people writing their own DAGs use :mod:`ylai_operators.script_operator`
(``ScriptOperator.for_script``) and ``@task.ylai_script`` instead.

DAG ids (:mod:`ylai_operators.naming`)
    :class:`DagKind`, :class:`DagName`, :data:`SCRIPT_PREFIX`, :data:`PIPELINE_PREFIX`,
    :data:`TASK_PREFIX`, :data:`REPORT_PREFIX`, :func:`dag_id`, :func:`parse_dag_id`,
    :func:`name_of`, :func:`script_dag_id`, :func:`pipeline_dag_id`, :func:`task_dag_id`,
    :func:`report_dag_id`, :data:`MEASUREMENTS_XCOM_KEY` (a failed script task's measurements),
    :data:`ERROR_XCOM_KEY` (its error line), :data:`SCRIPT_VERSION_XCOM_KEY` (the version it ran).
Scripts (:mod:`~ylai_operators.manifest`, :mod:`~ylai_operators.registry`, :mod:`~ylai_operators.db_scripts`)
    :class:`ScriptManifest`, :class:`ParamSpec`, :class:`OutputSpec`, :class:`Script`,
    :class:`Registry`, :class:`SpecError`, :func:`load_registry`, :func:`script_from_record`,
    :data:`DB_SCRIPTS_VARIABLE` (the Variable the API publishes database scripts to).
Database pipelines (:mod:`~ylai_operators.db_pipelines`)
    :data:`DB_PIPELINES_VARIABLE` (the Variable the API publishes database pipelines to).
Parameter schemas (:mod:`ylai_operators.param_schema`, the one source of a script's form)
    :func:`form_schema` (all params of a script, for a form generator), :func:`to_json_schema`
    (one param), :func:`validate_value`, :data:`SECRET_KEYWORD`.
Pipelines and the DAGs folder (:mod:`~ylai_operators.pipeline_spec`, :mod:`~ylai_operators.dag_factory`)
    :func:`check_schedule`, :class:`Catalog` (the scripts, pipelines and spec errors of a DAGs
    folder), :func:`load_catalog`, :data:`PIPELINES_DIR`; :class:`PipelineSpec`, :class:`Pipeline`,
    :func:`check_pipeline` (the compiler the DAG builder runs), :func:`load_pipelines`,
    :func:`locate_problem` (a problem's node and field), :func:`pipeline_data` and
    :func:`pipeline_yaml` (a spec as a pipeline file holds it).
Scheduled tasks (:mod:`ylai_operators.scheduled_tasks`)
    :data:`SCHEDULED_TASKS_VARIABLE` (the Variable the API publishes them to), :func:`run_id_prefix`.
Approvals (:mod:`ylai_operators.approval`)
    :data:`APPROVAL_TASK_ID`, :data:`APPROVAL_XCOM_KEY` (the request record), :data:`APPROVAL_COMMENT_PARAM`,
    :data:`APPROVE_OPTION`, :data:`REJECT_OPTION`, :data:`APPROVAL_POLICY_VARIABLE` and
    :data:`APPROVAL_DIRECTORY_VARIABLE` (what the plugin publishes), :func:`eligible_usernames`;
    :class:`ApprovalSpec` (the ``approval:`` of a manifest, a pipeline spec or a saved task).
Processes (:mod:`ylai_operators.process_tree`, :mod:`ylai_operators.preload`, :mod:`ylai_operators.process_runner`)
    :func:`stop_processes`, :func:`warm_imports`, :class:`ProcessRunner` and :func:`build_command`
    (a script's argv, as its task starts it; a form's ``options_from: {source: script}`` runs one).

Only :mod:`ylai_operators.naming` is imported with this module; every other name imports its
module the first time it is used (PEP 562), as the plugin's function-level imports did, so
that importing the catalog costs a plugin process nothing it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ylai_operators.naming import (
    ERROR_XCOM_KEY,
    MEASUREMENTS_XCOM_KEY,
    PIPELINE_PREFIX,
    REPORT_PREFIX,
    SCRIPT_PREFIX,
    SCRIPT_VERSION_XCOM_KEY,
    TASK_PREFIX,
    DagKind,
    DagName,
    dag_id,
    name_of,
    parse_dag_id,
    pipeline_dag_id,
    report_dag_id,
    script_dag_id,
    task_dag_id,
)

if TYPE_CHECKING:
    from ylai_operators.approval import APPROVAL_TASK_ID, APPROVAL_XCOM_KEY, eligible_usernames
    from ylai_operators.approval import APPROVE as APPROVE_OPTION
    from ylai_operators.approval import COMMENT_PARAM as APPROVAL_COMMENT_PARAM
    from ylai_operators.approval import DIRECTORY_VARIABLE as APPROVAL_DIRECTORY_VARIABLE
    from ylai_operators.approval import POLICY_VARIABLE as APPROVAL_POLICY_VARIABLE
    from ylai_operators.approval import REJECT as REJECT_OPTION
    from ylai_operators.dag_factory import PIPELINES_DIR, Catalog, load_catalog
    from ylai_operators.db_pipelines import VARIABLE as DB_PIPELINES_VARIABLE
    from ylai_operators.db_scripts import VARIABLE as DB_SCRIPTS_VARIABLE
    from ylai_operators.db_scripts import script_from_record
    from ylai_operators.manifest import ApprovalSpec, OutputSpec, ParamSpec, ScriptManifest
    from ylai_operators.param_schema import SECRET_KEYWORD, form_schema, to_json_schema, validate_value
    from ylai_operators.pipeline_spec import Pipeline, PipelineSpec, check_pipeline, check_schedule, load_pipelines
    from ylai_operators.pipeline_spec import locate as locate_problem
    from ylai_operators.pipeline_spec import to_data as pipeline_data
    from ylai_operators.pipeline_spec import to_yaml as pipeline_yaml
    from ylai_operators.preload import warm_imports
    from ylai_operators.process_runner import ProcessRunner
    from ylai_operators.process_tree import stop_processes
    from ylai_operators.registry import Registry, Script, SpecError, load_registry
    from ylai_operators.scheduled_tasks import VARIABLE as SCHEDULED_TASKS_VARIABLE
    from ylai_operators.scheduled_tasks import run_id_prefix
    from ylai_operators.script_operator import build_command

# public name -> (module, name in that module), imported on first use
_LAZY: dict[str, tuple[str, str]] = {
    "APPROVAL_TASK_ID": ("ylai_operators.approval", "APPROVAL_TASK_ID"),
    "APPROVAL_XCOM_KEY": ("ylai_operators.approval", "APPROVAL_XCOM_KEY"),
    "APPROVAL_COMMENT_PARAM": ("ylai_operators.approval", "COMMENT_PARAM"),
    "APPROVAL_DIRECTORY_VARIABLE": ("ylai_operators.approval", "DIRECTORY_VARIABLE"),
    "APPROVAL_POLICY_VARIABLE": ("ylai_operators.approval", "POLICY_VARIABLE"),
    "APPROVE_OPTION": ("ylai_operators.approval", "APPROVE"),
    "REJECT_OPTION": ("ylai_operators.approval", "REJECT"),
    "eligible_usernames": ("ylai_operators.approval", "eligible_usernames"),
    "Catalog": ("ylai_operators.dag_factory", "Catalog"),
    "load_catalog": ("ylai_operators.dag_factory", "load_catalog"),
    "DB_PIPELINES_VARIABLE": ("ylai_operators.db_pipelines", "VARIABLE"),
    "DB_SCRIPTS_VARIABLE": ("ylai_operators.db_scripts", "VARIABLE"),
    "script_from_record": ("ylai_operators.db_scripts", "script_from_record"),
    "ApprovalSpec": ("ylai_operators.manifest", "ApprovalSpec"),
    "OutputSpec": ("ylai_operators.manifest", "OutputSpec"),
    "ParamSpec": ("ylai_operators.manifest", "ParamSpec"),
    "ScriptManifest": ("ylai_operators.manifest", "ScriptManifest"),
    "SECRET_KEYWORD": ("ylai_operators.param_schema", "SECRET_KEYWORD"),
    "form_schema": ("ylai_operators.param_schema", "form_schema"),
    "to_json_schema": ("ylai_operators.param_schema", "to_json_schema"),
    "validate_value": ("ylai_operators.param_schema", "validate_value"),
    "check_schedule": ("ylai_operators.pipeline_spec", "check_schedule"),
    "PIPELINES_DIR": ("ylai_operators.dag_factory", "PIPELINES_DIR"),
    "Pipeline": ("ylai_operators.pipeline_spec", "Pipeline"),
    "PipelineSpec": ("ylai_operators.pipeline_spec", "PipelineSpec"),
    "check_pipeline": ("ylai_operators.pipeline_spec", "check_pipeline"),
    "load_pipelines": ("ylai_operators.pipeline_spec", "load_pipelines"),
    "locate_problem": ("ylai_operators.pipeline_spec", "locate"),
    "pipeline_data": ("ylai_operators.pipeline_spec", "to_data"),
    "pipeline_yaml": ("ylai_operators.pipeline_spec", "to_yaml"),
    "warm_imports": ("ylai_operators.preload", "warm_imports"),
    "stop_processes": ("ylai_operators.process_tree", "stop_processes"),
    "ProcessRunner": ("ylai_operators.process_runner", "ProcessRunner"),
    "build_command": ("ylai_operators.script_operator", "build_command"),
    "Registry": ("ylai_operators.registry", "Registry"),
    "Script": ("ylai_operators.registry", "Script"),
    "SpecError": ("ylai_operators.registry", "SpecError"),
    "load_registry": ("ylai_operators.registry", "load_registry"),
    "SCHEDULED_TASKS_VARIABLE": ("ylai_operators.scheduled_tasks", "VARIABLE"),
    "run_id_prefix": ("ylai_operators.scheduled_tasks", "run_id_prefix"),
}

__all__ = [
    "APPROVAL_COMMENT_PARAM",
    "APPROVAL_DIRECTORY_VARIABLE",
    "APPROVAL_POLICY_VARIABLE",
    "APPROVAL_TASK_ID",
    "APPROVAL_XCOM_KEY",
    "APPROVE_OPTION",
    "DB_PIPELINES_VARIABLE",
    "DB_SCRIPTS_VARIABLE",
    "ERROR_XCOM_KEY",
    "MEASUREMENTS_XCOM_KEY",
    "PIPELINES_DIR",
    "PIPELINE_PREFIX",
    "REJECT_OPTION",
    "REPORT_PREFIX",
    "SCHEDULED_TASKS_VARIABLE",
    "SCRIPT_PREFIX",
    "SCRIPT_VERSION_XCOM_KEY",
    "SECRET_KEYWORD",
    "TASK_PREFIX",
    "ApprovalSpec",
    "Catalog",
    "DagKind",
    "DagName",
    "OutputSpec",
    "ParamSpec",
    "Pipeline",
    "PipelineSpec",
    "ProcessRunner",
    "Registry",
    "Script",
    "ScriptManifest",
    "SpecError",
    "build_command",
    "check_pipeline",
    "check_schedule",
    "dag_id",
    "eligible_usernames",
    "form_schema",
    "load_catalog",
    "load_pipelines",
    "load_registry",
    "locate_problem",
    "name_of",
    "parse_dag_id",
    "pipeline_dag_id",
    "pipeline_data",
    "pipeline_yaml",
    "report_dag_id",
    "run_id_prefix",
    "script_dag_id",
    "script_from_record",
    "stop_processes",
    "task_dag_id",
    "to_json_schema",
    "validate_value",
    "warm_imports",
]


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first use (PEP 562)."""
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
