"""Registered scripts in hand-written DAGs: ``ScriptOperator.for_script`` and ``@task.ylai_script``.

Params are checked against the manifest when the DAG file is parsed (an import error naming the
file, the script and the param), templates once rendered at run time, and the declared outputs
reach downstream tasks of any kind through XCom.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, cast

import pytest

from tests.conftest import REPO_ROOT
from ylai_operators.manifest import ParamSpec
from ylai_operators.script_params import ScriptParamsError, check_at_parse, check_at_run, is_deferred

MANIFEST = """
name: tally
description: Counts to a number and says what it counted.
owner: tests
retries: 2
resources: {memory_mb: 256}
params:
  count: {type: integer, required: true, minimum: 1}
  label: {type: string, default: things}
  ratio: {type: number}
outputs:
  total: {type: integer}
  text: {type: string}
"""

SCRIPT = """
import json, os
from pathlib import Path
params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps(
    {"total": params["count"] * 2, "text": f"{params['count']} {params['label']}"}
))
"""

DECLARED = {
    "count": ParamSpec(type="integer", required=True, minimum=1),
    "label": ParamSpec(type="string", default="things"),
}


@pytest.fixture
def dags_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGs folder with one script, ``tally``; no database scripts."""
    monkeypatch.setenv("YLAI_SPEC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("YLAI_ARTIFACTS_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setattr("ylai_operators.db_scripts.read_json_variable", lambda key: None)
    folder = tmp_path / "dags"
    (folder / "scripts").mkdir(parents=True)
    (folder / "scripts" / "tally.yaml").write_text(MANIFEST)
    (folder / "scripts" / "tally.py").write_text(SCRIPT)
    return folder


def dag_file(folder: Path, body: str, name: str = "my_dag.py") -> Path:
    path = folder / name
    header = """
    from __future__ import annotations
    from datetime import datetime
    from airflow.sdk import DAG, dag, task
    from ylai_operators.script_operator import ScriptOperator
    """
    path.write_text(textwrap.dedent(header) + textwrap.dedent(body))
    return path


def import_errors(path: Path) -> dict[str, str]:
    from airflow.dag_processing.dagbag import DagBag

    return {Path(k).name: v for k, v in DagBag(dag_folder=str(path)).import_errors.items()}


class TestChecks:
    def test_unknown_missing_and_mistyped_params_are_named(self) -> None:
        problems = dict(check_at_parse(DECLARED, {"count": "many", "colour": "red"}))
        assert problems["colour"].startswith("unknown parameter (declared: count, label)")
        assert "'many' is not of type 'integer'" in problems["count"]
        assert check_at_parse(DECLARED, {}) == [("count", "required parameter is not set")]

    def test_templates_and_xcom_arguments_are_deferred(self) -> None:
        assert is_deferred("{{ ds }}")
        assert is_deferred("{% if x %}a{% endif %}")
        assert not is_deferred("plain text")
        assert not is_deferred(3)
        assert check_at_parse(DECLARED, {"count": "{{ params.n }}", "label": "{{ ti.xcom_pull('a') }}"}) == []

    def test_without_complete_values_required_params_may_come_later(self) -> None:
        assert check_at_parse(DECLARED, {}, complete=False) == []
        assert check_at_parse(DECLARED, {"nope": 1}, complete=False)[0][0] == "nope"

    def test_rendered_text_becomes_the_params_type_when_it_fits(self) -> None:
        values, problems = check_at_run(DECLARED, {"count": "12", "label": "7"}, frozenset({"count", "label"}))
        assert problems == []
        assert values == {"count": 12, "label": "7"}  # a string param keeps its text

    def test_a_rendered_value_that_does_not_fit_is_refused_with_its_value(self) -> None:
        _, problems = check_at_run(DECLARED, {"count": "0"}, frozenset({"count"}))
        assert problems == [("count", "0 is less than the minimum of 1 (value after rendering: '0')")]
        _, problems = check_at_run(DECLARED, {"count": "12"})  # not rendered: no conversion
        assert problems == [("count", "'12' is not of type 'integer'")]

    def test_error_message_names_file_script_task_and_param(self) -> None:
        error = ScriptParamsError("dags/x.py", "tally", "count_it", [("count", "required parameter is not set")])
        assert str(error) == "dags/x.py: script 'tally', task 'count_it': param 'count': required parameter is not set"


class TestParseTime:
    def test_for_script_builds_the_task_from_the_manifest(self, dags_folder: Path) -> None:
        from airflow.sdk import DAG

        from ylai_operators.script_operator import ScriptOperator

        with DAG("d", schedule=None):
            task = ScriptOperator.for_script(
                "tally", params={"count": 3, "ratio": "{{ params.r }}"}, scripts_folder=dags_folder / "scripts"
            )
        assert task.task_id == "tally"
        assert task.param_values == {"count": 3, "label": "things"}  # the manifest's default filled in
        assert task.param_templates == {"ratio": "{{ params.r }}"}
        assert (task.owner, task.retries, task.push_outputs) == ("tests", 2, True)
        assert task.memory_limit_mb == 256
        assert task.outputs == {"total": "integer", "text": "string"}
        assert "param_templates" in task.template_fields

    def test_keyword_arguments_override_the_manifest(self, dags_folder: Path) -> None:
        from airflow.sdk import DAG

        from ylai_operators.script_operator import ScriptOperator

        with DAG("d", schedule=None):
            task = ScriptOperator.for_script(
                "tally", params={"count": 3}, scripts_folder=dags_folder / "scripts", memory_limit_mb=64, retries=0
            )
        assert (task.memory_limit_mb, task.retries) == (64, 0)

    @pytest.mark.parametrize(
        ("call", "param", "reason"),
        [
            ('"tally", params={"count": 1, "colour": "red"}', "colour", "unknown parameter"),
            ('"tally", params={"label": "x"}', "count", "required parameter is not set"),
            ('"tally", params={"count": "three"}', "count", "'three' is not of type 'integer'"),
        ],
    )
    def test_a_bad_param_is_an_import_error_naming_file_script_and_param(
        self, dags_folder: Path, call: str, param: str, reason: str
    ) -> None:
        path = dag_file(
            dags_folder,
            f"""
            with DAG("bad", schedule=None, start_date=datetime(2024, 1, 1)):
                ScriptOperator.for_script({call}, task_id="count_it")
            """,
        )
        error = import_errors(path)["my_dag.py"]
        assert f"ScriptParamsError: {path}: script 'tally', task 'count_it': param '{param}': {reason}" in error

    def test_an_unknown_script_is_an_import_error(self, dags_folder: Path) -> None:
        path = dag_file(
            dags_folder,
            """
            with DAG("bad", schedule=None, start_date=datetime(2024, 1, 1)):
                ScriptOperator.for_script("talley", params={})
            """,
        )
        assert f"{path}: script 'talley': unknown script 'talley' (known: tally)" in import_errors(path)["my_dag.py"]

    def test_the_decorator_checks_its_static_params_at_parse_time(self, dags_folder: Path) -> None:
        path = dag_file(
            dags_folder,
            """
            @dag(schedule=None, start_date=datetime(2024, 1, 1))
            def bad():
                @task.ylai_script(script="tally", script_params={"label": 5})
                def count_it():
                    return {"count": 2}

                count_it()

            bad()
            """,
        )
        error = import_errors(path)["my_dag.py"]
        assert f"{path}: script 'tally', task 'count_it': param 'label': 5 is not of type 'string'" in error

    def test_the_decorator_is_registered_through_the_provider(self) -> None:
        from airflow.sdk import task

        from ylai_operators.decorators import ylai_script_task

        assert task.ylai_script is ylai_script_task

    def test_output_of_names_only_declared_outputs(self, dags_folder: Path) -> None:
        from airflow.sdk import DAG

        from ylai_operators.script_operator import ScriptOperator, script_output

        with DAG("d", schedule=None):
            task = ScriptOperator.for_script("tally", params={"count": 1}, scripts_folder=dags_folder / "scripts")
        assert task.output_of("total").key == "total"
        with pytest.raises(ValueError, match=r"script 'tally' has no output 'totl' \(declared: total, text\)"):
            task.output_of("totl")
        assert script_output(task.output, "text").key == "text"  # from what a @task.ylai_script call returns
        with pytest.raises(TypeError, match="is not a ylai script task"):
            script_output(cast(Any, "not a task"), "text")


class TestRunTime:
    def test_a_rendered_value_that_does_not_fit_fails_the_task_before_the_script_runs(self, dags_folder: Path) -> None:
        from airflow.sdk import DAG

        from ylai_operators.script_operator import ScriptOperator

        with DAG("d", schedule=None):
            task = ScriptOperator.for_script(
                "tally", params={"count": "{{ params.n }}"}, scripts_folder=dags_folder / "scripts"
            )
        task.param_templates = {"count": "none"}  # what rendering made of it
        with pytest.raises(ScriptParamsError, match=r"script 'tally', task 'tally': param 'count': 'none' is not"):
            task.resolve_params({"params": {}})

    def test_outputs_reach_taskflow_tasks_and_templates_are_rendered(
        self, dags_folder: Path, airflow_db: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from airflow.dag_processing.dagbag import DagBag

        # dag.test() runs DAGs of a bundle: make the temporary folder the DAGs folder's bundle.
        bundle = {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle"}
        bundle["kwargs"] = {"path": str(dags_folder)}  # type: ignore[assignment]
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))

        path = dag_file(
            dags_folder,
            """
            @dag(schedule=None, start_date=datetime(2024, 1, 1), params={"n": 4},
                 default_args={"owner": "tests", "retries": 1})
            def mixed():
                first = ScriptOperator.for_script("tally", task_id="first", params={"count": "{{ params.n }}"})

                @task.ylai_script(script="tally", script_params={"label": "apples"})
                def second(total: int) -> dict[str, object]:
                    return {"count": total}

                got = second(first.output_of("total"))

                @task
                def check(total: int, text: str, whole: dict[str, object]) -> str:
                    assert total == 16 and text == "8 apples", (total, text)
                    assert whole["outputs"] == {"total": 16, "text": "8 apples"}
                    return text

                check(got["total"], got["text"], got)

            mixed()
            """,
        )
        bag = DagBag(dag_folder=str(path))
        assert bag.import_errors == {}
        run = bag.dags["mixed"].test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        assert states == {"first": "success", "second": "success", "check": "success"}


def test_the_example_dag_runs(airflow_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """dags/ylai_example_scripts.py: two ylai scripts and a TaskFlow task, triggered with a param."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("YLAI_ARTIFACTS_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setattr("ylai_operators.db_scripts.read_json_variable", lambda key: None)
    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "ylai_example_scripts.py"))
    assert bag.import_errors == {}
    run = bag.dags["ylai_example_scripts"].test(run_conf={"rows": 30})
    tis: dict[str, Any] = {ti.task_id: ti for ti in run.get_task_instances()}
    assert {k: str(ti.state) for k, ti in tis.items()} == {
        "generate": "success",
        "profile": "success",
        "summary": "success",
    }
    assert tis["summary"].xcom_pull(task_ids="summary") == "30 rows, 4 columns"
