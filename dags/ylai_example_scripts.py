"""
### ylai scripts in a hand-written DAG

Registered ylai scripts used as ordinary tasks, mixed with a TaskFlow task:

1. `generate` runs the `data_generator` script (`ScriptOperator.for_script`), its row
   count taken from the run's `rows` param through a Jinja template;
2. `profile` runs the `csv_profiler` script (`@task.ylai_script`) on the file `generate`
   wrote (its declared output `path`, an XCom);
3. `summary`, a plain TaskFlow task, reads the profile's declared outputs `rows` and
   `columns` from XCom.

The scripts' params are checked against their manifests when this file is parsed; the
templated value once rendered, when `generate` runs. See docs/scripts.md.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ylai_operators.script_operator import ScriptOperator, script_output


@dag(
    dag_id="ylai_example_scripts",
    schedule=None,
    catchup=False,
    tags=["ylai", "example"],
    doc_md=__doc__,
    default_args={"owner": "data-platform", "retries": 1},
    params={"rows": 200},
)
def ylai_example_scripts() -> None:
    generate = ScriptOperator.for_script(
        "data_generator",
        task_id="generate",
        params={"rows": "{{ params.rows }}", "seed": 7, "output_format": "csv"},
    )

    @task.ylai_script(script="csv_profiler", script_params={"delimiter": ","})
    def profile(path: str) -> dict[str, object]:
        return {"path": path}

    profiled = profile(generate.output_of("path"))

    @task
    def summary(rows: int, columns: int) -> str:
        text = f"{rows} rows, {columns} columns"
        print(text)
        return text

    summary(script_output(profiled, "rows"), script_output(profiled, "columns"))


ylai_example_scripts()
