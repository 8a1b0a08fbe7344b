"""``@task.ylai_script``: a TaskFlow task whose function returns the params of a registered script.

Registered through the ``task-decorators`` entry of ylai's provider info, so Airflow's
``task`` object finds it once ylai is installed:

.. code-block:: python

    from airflow.sdk import task


    @task.ylai_script(script="csv_profiler")
    def profile(path: str) -> dict[str, object]:
        return {"path": path, "max_rows": 1000}

The script is looked up and the static ``script_params`` are checked when the DAG file is
parsed (as by :meth:`ScriptOperator.for_script`); what the function returns is merged over
them and checked against the manifest when the task runs, before the script starts. The
task's XCom is the script's result, and each declared output is an XCom of its own
(``profile_task.output["rows"]``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory
from airflow.sdk.definitions.context import context_merge

from ylai_operators.script_operator import ScriptOperator
from ylai_operators.script_tasks import operator_arguments

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.bases.decorator import TaskDecorator


class YlaiScriptDecoratedOperator(DecoratedOperator, ScriptOperator):
    """Run registered script ``script`` with the params its Python callable returns.

    :param python_callable: returns a mapping of parameter values (or ``None``).
    :param script: the script's registered name.
    :param script_params: values known when the DAG is written, checked while it is parsed;
        the callable's values override them.
    :param scripts_folder: see :meth:`ScriptOperator.for_script`.
    """

    template_fields: Sequence[str] = (*DecoratedOperator.template_fields, *ScriptOperator.template_fields)
    custom_operator_name = "@task.ylai_script"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        script: str,
        script_params: Mapping[str, Any] | None = None,
        scripts_folder: str | os.PathLike[str] | None = None,
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Checked now, as by for_script; required params may come from the callable, so only
        # the names and the literal values of ``script_params`` are checked before the run.
        options = operator_arguments(
            script, params=script_params, task_id=kwargs.pop("task_id"), scripts_folder=scripts_folder, complete=False
        )
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **(options | kwargs),
        )

    def execute(self, context: Context) -> Any:
        """Call the function for the params, then run the script with them."""
        context_merge(context, self.op_kwargs)
        returned = self.python_callable(*self.op_args, **self.determine_kwargs(context))
        if returned is None:
            returned = {}
        if not isinstance(returned, Mapping):
            raise TypeError(
                f"@task.ylai_script {self.task_id!r} must return a mapping of parameter values, "
                f"got {type(returned).__name__}"
            )
        self.param_values = {**self.param_values, **returned}
        self.param_templates = {k: v for k, v in self.param_templates.items() if k not in returned}
        return super().execute(context)


def ylai_script_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """Wrap a function into a task that runs a registered ylai script (``@task.ylai_script``).

    :param python_callable: the decorated function.
    :param kwargs: ``script`` (required), ``script_params``, ``scripts_folder`` and any
        ``BaseOperator`` argument.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=False,  # the declared outputs are pushed by name already
        decorated_operator_class=YlaiScriptDecoratedOperator,
        **kwargs,
    )
