"""``ScriptOperator``: run a registered script as an Airflow task.

The script runs in its own process group with a minimal environment. Its
parameters arrive as a JSON file (``YLAI_PARAMS_FILE``) and as ``--name value``
argv pairs, never through a shell, so a value such as ``$(rm -rf /)`` reaches
the script verbatim. stdout and stderr stream into the task log line by line,
with secret values masked by Airflow's secrets masker. A JSON object written to
``YLAI_RESULT_FILE`` becomes the task's XCom, together with the exit code,
duration, peak RSS and CPU seconds of the whole process tree. With a memory limit
(the manifest's ``resources.memory_mb``), a tree whose RSS goes over it is stopped
and the task fails with :class:`ScriptMemoryLimitError`. With tracing on (Airflow's ``[traces]
otel_on``), the run is a ``ylai.script <name>`` span under the task's span, and the script gets
its ``TRACEPARENT`` (:mod:`ylai_operators.script_tracing`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from ylai_operators.naming import ERROR_XCOM_KEY, MEASUREMENTS_XCOM_KEY, SCRIPT_VERSION_XCOM_KEY
from ylai_operators.process_runner import SAMPLE_EVERY, ProcessRunner

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.definitions.xcom_arg import XComArg

    from ylai_operators.manifest import ParamSpec

# What a script inherits from the worker. Everything else (AIRFLOW__* settings,
# connection URLs, the Fernet key) stays out of reach of user code.
# An error line longer than this is cut: it is grouped and shown, not parsed.
ERROR_LINE_MAX = 500
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME", "VIRTUAL_ENV")


class ScriptFailedError(Exception):
    """The script exited non-zero, wrote an invalid result, or broke its output contract."""


class ScriptMemoryLimitError(ScriptFailedError):
    """The script's process tree went over its memory limit and was stopped."""


def argv_value(value: Any) -> str:
    """Render one parameter value for argv: strings verbatim, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def build_command(runtime: str, script: str, values: Mapping[str, Any]) -> list[str]:
    """Return the argv that starts ``script`` with ``--name value`` for each non-null parameter."""
    launcher = {"python": [sys.executable, "-u"], "bash": [shutil.which("bash") or "/bin/bash"]}.get(runtime, [])
    args: list[str] = []
    for name, value in values.items():
        if value is None:
            continue
        args += [f"--{name}", argv_value(value)]
    return [*launcher, script, *args]


def check_outputs(outputs: Mapping[str, Any], declared: Mapping[str, str]) -> list[str]:
    """Return the ways ``outputs`` breaks the declared output contract."""
    checks: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
        "array": (list,),
        "object": (dict,),
    }
    problems = []
    for name, kind in declared.items():
        if name not in outputs:
            problems.append(f"declared output {name!r} is missing")
            continue
        value = outputs[name]
        expected = checks.get(kind)
        wrong_bool = isinstance(value, bool) and kind in ("integer", "number")
        if expected and (not isinstance(value, expected) or wrong_bool):
            problems.append(f"output {name!r} should be {kind}, got {type(value).__name__} {value!r}")
    return problems


def _safe_segment(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:120]


class ScriptOperator(BaseOperator):
    """Run a script from ylai's registry in a subprocess.

    Literal parameter values are deliberately *not* templated: Jinja would render a
    user's ``{{ ... }}`` inside a value. Values come from four places, merged in
    this order: ``param_values`` (literals), ``param_templates`` (the one templated
    field, filled by :meth:`for_script` from the values of a hand-written DAG),
    ``param_refs`` (the run's DAG params) and ``bindings`` (outputs of upstream
    ScriptOperator tasks, read from XCom).

    In a hand-written DAG, use :meth:`for_script`: it reads the script's manifest and
    checks the params while the DAG file is parsed.

    .. code-block:: python

        ScriptOperator(
            task_id="profile",
            script_path="/opt/dags/scripts/csv_profiler.py",
            runtime="python",
            param_refs={"path": "path"},
            outputs={"rows": "integer"},
        )

    :param script_path: path of the script file (for ``script_content``, only its name is used).
    :param script_content: the script itself, for scripts stored in the database; written to a
        private temporary file before each run.
    :param runtime: ``python`` (this interpreter), ``bash`` or ``executable`` (run directly).
    :param script_name: the registry name, used in messages.
    :param script_version: the version of a script stored in the database (shown on its trace span;
        a repository script's span shows a digest of its file instead).
    :param param_values: literal parameter values.
    :param param_refs: script parameter name -> DAG param name.
    :param bindings: script parameter name -> ``"<task_id>.<output>"`` of an upstream task.
    :param secret_params: names of parameters whose values are masked in logs.
    :param outputs: declared outputs, name -> type (``string``, ``integer``, ... or ``any``).
    :param env: extra environment variables for the script; they win over the tracing variables
        (``TRACEPARENT``, ``OTEL_*``) the script gets when tracing is on. (templated)
    :param cwd: working directory; defaults to a fresh temporary directory. (templated)
    :param kill_grace_seconds: how long the process tree gets between SIGTERM and SIGKILL.
    :param memory_limit_mb: the most RSS (MiB) the script's whole process tree may use, as
        sampled by the runner (every 0.2 s, see :mod:`ylai_operators.process_runner`); over it,
        the tree gets SIGTERM, then SIGKILL after at most 3 s, and the task fails with
        :class:`ScriptMemoryLimitError`. Defaults to the manifest's ``resources.memory_mb``
        (through :meth:`for_script` and ylai's DAGs); ``None``: no limit.
    :param param_templates: parameter values rendered by Jinja (and XCom arguments resolved)
        before the run. (templated)
    :param param_specs: the manifest's parameters; when given, the merged values are checked
        against them before the script starts (rendered text may become the param's type).
    :param push_outputs: also push each declared output as an XCom of its own, under its name
        (``task.output["rows"]``), for downstream tasks of any kind.
    :return: pushed to XCom: ``{"outputs": {...}, "exit_code", "duration_seconds",
        "peak_rss_bytes", "cpu_seconds", "artifacts_dir", "artifacts"}``.
    """

    template_fields: Sequence[str] = ("env", "cwd", "param_templates")
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        script_path: str,
        script_content: str | None = None,
        runtime: str = "python",
        script_name: str | None = None,
        script_version: str | int | None = None,
        param_values: Mapping[str, Any] | None = None,
        param_refs: Mapping[str, str] | None = None,
        bindings: Mapping[str, str] | None = None,
        secret_params: Sequence[str] = (),
        outputs: Mapping[str, str] | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        kill_grace_seconds: float = 10.0,
        memory_limit_mb: int | None = None,
        param_templates: Mapping[str, Any] | None = None,
        param_specs: Mapping[str, ParamSpec] | None = None,
        push_outputs: bool = False,
        **kwargs: Any,
    ) -> None:
        # Scripts call flaky things (HTTP, databases): retry with exponential backoff by default.
        kwargs.setdefault("retry_exponential_backoff", 2.0)
        kwargs.setdefault("retry_delay", timedelta(seconds=15))
        kwargs.setdefault("max_retry_delay", timedelta(minutes=30))
        super().__init__(**kwargs)
        if memory_limit_mb is not None and (isinstance(memory_limit_mb, bool) or memory_limit_mb <= 0):
            raise ValueError(f"memory_limit_mb must be a positive number of MiB, got {memory_limit_mb!r}")
        self.script_path = script_path
        self.script_content = script_content
        self.runtime = runtime
        self.script_name = script_name or Path(script_path).stem
        self.script_version = script_version
        self.param_values = dict(param_values or {})
        self.param_refs = dict(param_refs or {})
        self.bindings = dict(bindings or {})
        self.secret_params = list(secret_params)
        self.outputs = dict(outputs or {})
        self.env = env
        self.cwd = cwd
        self.kill_grace_seconds = kill_grace_seconds
        self.memory_limit_mb = memory_limit_mb
        self.param_templates = dict(param_templates or {})
        self.param_specs = dict(param_specs) if param_specs is not None else None
        self.push_outputs = push_outputs
        self._runner: ProcessRunner | None = None

    # -- hand-written DAGs -------------------------------------------------------
    @classmethod
    def for_script(
        cls,
        script: str,
        *,
        params: Mapping[str, Any] | None = None,
        task_id: str | None = None,
        scripts_folder: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> ScriptOperator:
        """The task that runs registered script ``script`` with ``params``, checked against its manifest now.

        The script is looked up like ``script__<name>`` DAGs find it (the ``scripts/`` folder,
        then the scripts created through ylai's API); its timeout, retries, owner, pool slots,
        queue and memory limit come from the manifest unless ``kwargs`` say otherwise. Omitted
        params take their manifest defaults. While the DAG file is parsed, an unknown script or
        param, a missing required param or a literal value of the wrong type raises
        :class:`ScriptParamsError`, naming the DAG file, the script, the task and the param:
        Airflow shows it as the file's import error. Jinja strings (``"{{ ds }}"``) and XCom
        arguments (``other.output``) are allowed as values and checked once rendered, when the
        task runs. Each declared output is pushed as an XCom of its own: ``task.output["rows"]``
        (or :meth:`output_of`).

        .. code-block:: python

            profile = ScriptOperator.for_script("csv_profiler", params={"path": "{{ params.csv }}"})

        :param script: the script's registered name.
        :param params: parameter values: literals, Jinja strings or XCom arguments.
        :param task_id: defaults to the script's name.
        :param scripts_folder: where repository scripts are (default: the nearest ``scripts/``
            folder beside the DAG file or a parent folder, else ``<dags_folder>/scripts``).
        :param kwargs: any other ``BaseOperator`` argument.
        :raises ScriptParamsError: the script or its params do not fit.
        """
        from ylai_operators.script_tasks import operator_arguments

        arguments = operator_arguments(script, params=params, task_id=task_id, scripts_folder=scripts_folder)
        return cls(**(arguments | kwargs))

    def output_of(self, name: str) -> Any:
        """The XCom argument of declared output ``name`` (pushed by tasks made by :meth:`for_script`).

        Typed ``Any`` so that it can be passed where a TaskFlow function expects the output's value.

        :raises ValueError: the script declares no output ``name``.
        """
        if name not in self.outputs:
            declared = ", ".join(self.outputs) or "none"
            raise ValueError(f"script {self.script_name!r} has no output {name!r} (declared: {declared})")
        from airflow.sdk.definitions.xcom_arg import PlainXComArg

        return PlainXComArg(operator=self, key=name)

    # -- parameters ------------------------------------------------------------
    def resolve_params(self, context: Context) -> dict[str, Any]:
        """Merge literal values, rendered templates, DAG params and upstream outputs into the script's parameters.

        :raises ScriptParamsError: with ``param_specs``, when a value does not fit its parameter.
        """
        values = dict(self.param_values)
        values.update(self.param_templates)
        dag_params = context.get("params") or {}
        for name, ref in self.param_refs.items():
            if ref in dag_params:
                values[name] = dag_params[ref]
        for name, source in self.bindings.items():
            task_id, _, output = source.partition(".")
            pulled = context["ti"].xcom_pull(task_ids=task_id)
            outputs = (pulled or {}).get("outputs") if isinstance(pulled, dict) else None
            if not isinstance(outputs, dict) or output not in outputs:
                raise ScriptFailedError(
                    f"parameter {name!r} is bound to {source}, but task {task_id!r} produced no output {output!r}"
                )
            values[name] = outputs[output]
        if self.param_specs is not None:
            from ylai_operators.script_params import ScriptParamsError, check_at_run

            values, problems = check_at_run(self.param_specs, values, frozenset(self.param_templates))
            if problems:
                raise ScriptParamsError("", self.script_name, self.task_id, problems)
        return values

    def _mask(self, values: Mapping[str, Any]) -> None:
        from airflow.sdk.log import mask_secret

        for name in self.secret_params:
            value = values.get(name)
            if value in (None, ""):
                continue
            mask_secret(value if isinstance(value, str) else argv_value(value), name)

    def _artifacts_dir(self, context: Context) -> Path:
        root = os.environ.get("YLAI_ARTIFACTS_ROOT") or str(
            Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / "ylai-artifacts"
        )
        ti = context["ti"]
        run_id = str(getattr(ti, "run_id", "run"))
        path = Path(root, _safe_segment(self.dag_id), _safe_segment(run_id), _safe_segment(self.task_id))
        path = path / f"try_{getattr(ti, 'try_number', 1)}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _script_env(
        self, params_file: Path, result_file: Path, artifacts: Path, tracing: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in _INHERITED_ENV or k.startswith("LC_")}
        env.update(tracing or {})
        env.update(self.env or {})
        env.update(
            {
                "YLAI_PARAMS_FILE": str(params_file),
                "YLAI_RESULT_FILE": str(result_file),
                "YLAI_ARTIFACTS_DIR": str(artifacts),
                "YLAI_SCRIPT": self.script_name,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    # -- running -----------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        """Run the script; return its result and run metadata."""
        values = self.resolve_params(context)
        self._mask(values)
        self._leave_version(context)
        artifacts = self._artifacts_dir(context)
        workdir = Path(tempfile.mkdtemp(prefix="ylai-script-"))
        try:
            params_file = workdir / "params.json"
            result_file = workdir / "result.json"
            params_file.write_text(json.dumps(values, ensure_ascii=False, default=str))
            script = self.script_path
            if self.script_content is not None:
                path = workdir / (Path(self.script_path).name or "script")
                path.write_text(self.script_content, encoding="utf-8")
                path.chmod(0o700)
                script = str(path)
            argv = build_command(self.runtime, script, values)
            self.log.info("Running script %s (%s) with parameters: %s", self.script_name, self.runtime, sorted(values))
            # OpenTelemetry's API only (Airflow's task runner already imported it), not at module level.
            from ylai_operators.script_tracing import script_span

            with script_span(
                self.script_name,
                version=self.script_version,
                script_path=self.script_path,
                content=self.script_content,
                runtime=self.runtime,
            ) as traced:
                tracing = traced.environment(os.environ, self.script_name)
                env = self._script_env(params_file, result_file, artifacts, tracing)
                run = self._run(argv, env, self.cwd or str(workdir))
                traced.record(run)
                tail, code = list(run.get("stderr_tail") or ()), run.get("exit_code")  # _finish pops them
                try:
                    result = self._finish(run, result_file, artifacts)
                except ScriptFailedError as failed:
                    self._leave_measurements(context, run)
                    self._leave_error(context, tail, code, failed)
                    raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if self.push_outputs:
            ti = context["ti"]
            for name in self.outputs:
                if name != "return_value":  # that key is the whole result
                    ti.xcom_push(key=name, value=result["outputs"].get(name))
        return result

    def _leave_version(self, context: Context) -> None:
        """Record which version of the script this run runs, before it starts (failed runs show it too)."""
        from ylai_operators.script_tracing import script_version

        version = script_version(self.script_version, self.script_path, self.script_content)
        try:
            context["ti"].xcom_push(key=SCRIPT_VERSION_XCOM_KEY, value=version)
        except Exception:  # knowing the version is worth less than running the script
            self.log.warning("could not record the version of the script", exc_info=True)

    def _leave_measurements(self, context: Context, run: dict[str, Any]) -> None:
        """Keep a failed run's duration, peak RSS and CPU time (the Resources page ranks failures too)."""
        figures = {k: run[k] for k in ("duration_seconds", "peak_rss_bytes", "cpu_seconds") if k in run}
        try:
            context["ti"].xcom_push(key=MEASUREMENTS_XCOM_KEY, value=figures)
        except Exception:  # the script's own failure is what the task must report
            self.log.warning("could not record the measurements of the failed script", exc_info=True)

    def _leave_error(self, context: Context, tail: list[str], code: Any, failed: ScriptFailedError) -> None:
        """Keep the failure's error line (one small XCom) for the Monitor page's error trends.

        Task processes cannot write to the database in Airflow 3; an XCom goes through the
        Execution API like the measurements, and the api-server groups the lines when asked.
        """
        from airflow.sdk._shared.secrets_masker import redact  # airflow.sdk.log uses it without exporting it

        lines = [line.strip() for line in tail if line.strip()]
        # A script stopped at its memory limit, or that exited 0 but broke its contract, has no
        # error of its own on stderr: the reason is ours.
        ours = isinstance(failed, ScriptMemoryLimitError) or code == 0
        line = lines[-1] if lines and not ours else str(failed).splitlines()[0]
        value = {"line": str(redact(line[:ERROR_LINE_MAX])), "exit_code": code if isinstance(code, int) else None}
        try:
            context["ti"].xcom_push(key=ERROR_XCOM_KEY, value=value)
        except Exception:  # the script's own failure is what the task must report
            self.log.warning("could not record the error line of the failed script", exc_info=True)

    def _run(self, argv: list[str], env: dict[str, str], cwd: str) -> dict[str, Any]:
        limit = self.memory_limit_mb
        runner = ProcessRunner(
            self.script_name,
            self.log,
            kill_grace_seconds=self.kill_grace_seconds,
            memory_limit_bytes=None if limit is None else int(limit * 2**20),
        )
        self._runner = runner
        try:
            return runner.run(argv, env, cwd)
        finally:
            self._runner = None

    def _finish(self, run: dict[str, Any], result_file: Path, artifacts: Path) -> dict[str, Any]:
        code = run.pop("exit_code")
        tail = run.pop("stderr_tail")
        last = "\n".join(tail) if tail else "(no stderr output)"
        if run.pop("over_memory_limit"):
            # Whatever the exit code (a script may catch SIGTERM and exit 0): it was stopped.
            # Retries still apply as configured: the next try may get smaller input.
            used = math.ceil(run["peak_rss_bytes"] / 2**20)  # over the limit, never shown equal to it
            raise ScriptMemoryLimitError(
                f"Script {self.script_name} used {used} MiB, over its limit resources.memory_mb="
                f"{self.memory_limit_mb}; stopped (RSS of its whole process tree, sampled every {SAMPLE_EVERY:g} s). "
                f"Last stderr lines:\n{last}"
            )
        if code != 0:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            raise ScriptFailedError(f"Script {self.script_name} {how}. Last stderr lines:\n{last}")
        outputs: dict[str, Any] = {}
        if result_file.exists() and result_file.stat().st_size:
            try:
                loaded = json.loads(result_file.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ScriptFailedError(
                    f"Script {self.script_name} wrote invalid JSON to YLAI_RESULT_FILE: {exc}"
                ) from None
            if not isinstance(loaded, dict):
                raise ScriptFailedError(
                    f"Script {self.script_name} must write a JSON object to YLAI_RESULT_FILE, "
                    f"got {type(loaded).__name__}"
                )
            outputs = loaded
        problems = check_outputs(outputs, self.outputs)
        if problems:
            raise ScriptFailedError(f"Script {self.script_name} broke its output contract: " + "; ".join(problems))
        files = sorted(str(p.relative_to(artifacts)) for p in artifacts.rglob("*") if p.is_file())
        self.log.info(
            "Script %s finished in %.2fs (cpu %.2fs, peak RSS %.1f MiB)",
            self.script_name,
            run["duration_seconds"],
            run["cpu_seconds"],
            run["peak_rss_bytes"] / 2**20,
        )
        return {"outputs": outputs, "exit_code": code, **run, "artifacts_dir": str(artifacts), "artifacts": files}

    def on_kill(self) -> None:
        """Terminate the script's whole process tree when Airflow kills the task."""
        runner = self._runner
        if runner is not None:
            runner.stop()


def script_output(task: ScriptOperator | XComArg, name: str) -> Any:
    """Declared output ``name`` of a script task, as an XCom argument for a downstream task.

    :param task: a :class:`ScriptOperator`, or what calling a ``@task.ylai_script`` function returned.
    :raises ValueError: the script declares no output ``name``.
    :raises TypeError: ``task`` does not run a ylai script.
    """
    operator = task if isinstance(task, ScriptOperator) else getattr(task, "operator", None)
    if not isinstance(operator, ScriptOperator):
        raise TypeError(f"{task!r} is not a ylai script task")
    return operator.output_of(name)
