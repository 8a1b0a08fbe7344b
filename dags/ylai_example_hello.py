"""
### ylai smoke test

A two-task DAG used by ylai's integration tests and as the first thing to
trigger on a new install: a Bash task prints the run's conf, then a Python task
returns a small result that lands in XCom.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import dag, task


@dag(
    dag_id="ylai_example_hello",
    schedule=None,
    catchup=False,
    tags=["ylai", "example"],
    doc_md=__doc__,
    default_args={"owner": "ylai", "retries": 1, "retry_delay": timedelta(seconds=10)},
    params={"greeting": "hello"},
)
def ylai_example_hello() -> None:
    say = BashOperator(
        task_id="say",
        # The param goes through the environment, never spliced into the command line.
        bash_command='echo "greeting: $GREETING"',
        env={"GREETING": "{{ params.greeting }}"},
        append_env=True,
    )

    @task
    def result(**context: object) -> dict[str, str]:
        params = context["params"]
        assert isinstance(params, dict)
        return {"greeting": str(params["greeting"]), "status": "ok"}

    say >> result()


ylai_example_hello()
