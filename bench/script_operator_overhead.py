"""ScriptOperator overhead vs BashOperator, both running the same trivial bash script.

Run from the repository root::

    .venv/bin/python bench/script_operator_overhead.py          # ~1 min
    .venv/bin/python bench/script_operator_overhead.py --quick  # ~30 s

The script is ``echo ok`` plus a one-line ``printf`` of ``$EPOCHREALTIME`` into a stamp file,
so each measurement can be split into "start -> script done" and "script done -> execute()
returned" (the second part is how long the operator takes to notice the exit and wrap up).
ScriptOperator runs it as ``runtime="bash"``, BashOperator as ``bash_command="bash <file>"``.

Two levels are measured, each interleaved (A, B, A, B, ... with the order rotated every
round) so that a noisy 2-core machine penalises both sides equally:

1. ``operator.execute(context)`` in-process with a minimal context (the primary figure).
   Inside a real task everything around ``execute()`` -- task-runner fork, DAG-file parse,
   API calls for state and XCom -- is the same code for both operators, so ``execute()``
   isolates what the *operator* adds. ScriptOperator needs ``context["ti"]`` (``run_id``,
   ``try_number``, ``xcom_pull``) and ``context.get("params")``; BashOperator reads ``task``,
   ``task_instance`` and ``dag_run`` for its ``AIRFLOW_CONTEXT_*`` variables.
   One diagnostic ScriptOperator variant runs in the same rotation to locate the overhead:
   its cheap peak-RSS reads (``VmHWM`` from ``/proc/<pid>/status``) stubbed out. (The psutil
   process-tree sampling starts only after 100 ms, so a trivial script never pays it.)
2. ``dag.test()`` of a one-task DAG per operator (skip with ``--skip-dag-test``): the real
   in-process task path (TaskInstance rows in SQLite, context, templates, XCom push), so the
   ratio shows what the overhead means for a whole task. It still leaves out what only a
   deployed task pays (task-runner fork and DAG parse, typically 0.3-1 s, see
   ``bench/pipeline_latency.py``), so the real whole-task ratio is closer to 1 still.

Everything runs under a temporary ``AIRFLOW_HOME`` (SQLite) and ``YLAI_ARTIFACTS_ROOT``;
Airflow's log output goes to ``<tmp>/operators.log`` (kept with ``--keep``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from _common import (
    bytecode_note,
    fmt_ms,
    machine_note,
    median,
    quiet_fds,
    ratio,
    remove_unless_kept,  # bench/ is sys.path[0]
    table,
    verdict,
)

TARGET_RATIO = 1.10
TRIVIAL_SCRIPT = 'echo ok\nprintf "%s\\n" "$EPOCHREALTIME" > "$BENCH_STAMP"\n'


@dataclass
class Samples:
    """Wall times of one variant, split at the script's own end stamp."""

    total: list[float] = field(default_factory=list)
    before_exit: list[float] = field(default_factory=list)  # execute() start -> script's last line
    after_exit: list[float] = field(default_factory=list)  # script's last line -> execute() returned


class _FakeTI:
    """The slice of a RuntimeTaskInstance both operators read."""

    dag_id = "bench"
    task_id = "bench"
    run_id = "bench_run"
    try_number = 1
    map_index = -1

    def xcom_pull(self, **_: Any) -> Any:
        return None


class _FakeDagRun:
    run_id = "bench_run"
    logical_date = None
    team_name = None


def _context(task: Any) -> dict[str, Any]:
    ti = _FakeTI()
    return {"ti": ti, "task_instance": ti, "dag_run": _FakeDagRun(), "task": task, "params": {}}


def _read_stamp(path: Path) -> float:
    return float(path.read_text().strip())


def _interleaved(
    variants: dict[str, Callable[[], float]], rounds: int, warmup: int, console: TextIO, label: str
) -> dict[str, Samples]:
    """Run every variant ``rounds`` times, rotating the order each round; return the samples."""
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    out = {name: Samples() for name in names}
    for i in range(rounds):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            started = time.time()
            exited = variants[name]()
            ended = time.time()
            out[name].total.append(ended - started)
            out[name].before_exit.append(exited - started)
            out[name].after_exit.append(ended - exited)
        if (i + 1) % max(1, rounds // 5) == 0:
            print(f"  {label}: {i + 1}/{rounds} rounds", file=console)
    return out


@contextlib.contextmanager
def _no_rss_reads() -> Iterator[None]:
    import ylai_operators.process_runner as mod

    original = mod._vm_hwm
    mod._vm_hwm = lambda pid: 0
    try:
        yield
    finally:
        mod._vm_hwm = original


def _execute_level(work: Path, script: Path, rounds: int, console: TextIO) -> tuple[dict[str, Samples], dict[str, Any]]:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG

    from ylai_operators.script_operator import ScriptOperator

    stamps = {name: work / f"stamp-{name}" for name in ("bash", "script", "nosample")}
    with DAG("bench", schedule=None):
        bash = BashOperator(
            task_id="bash",
            bash_command=f"bash {shlex.quote(str(script))}",
            env={"BENCH_STAMP": str(stamps["bash"])},
            append_env=True,
        )
        ylai = ScriptOperator(
            task_id="script", script_path=str(script), runtime="bash", env={"BENCH_STAMP": str(stamps["script"])}
        )
        nosample = ScriptOperator(
            task_id="nosample", script_path=str(script), runtime="bash", env={"BENCH_STAMP": str(stamps["nosample"])}
        )
    last_result: dict[str, Any] = {}

    def run_bash() -> float:
        assert bash.execute(_context(bash)) == "ok"
        return _read_stamp(stamps["bash"])

    def run_script() -> float:
        last_result.update(ylai.execute(_context(ylai)))
        return _read_stamp(stamps["script"])

    def run_nosample() -> float:
        with _no_rss_reads():
            nosample.execute(_context(nosample))
        return _read_stamp(stamps["nosample"])

    variants = {
        "BashOperator": run_bash,
        "ScriptOperator": run_script,
        "ScriptOperator, no VmHWM reads (diagnostic)": run_nosample,
    }
    samples = _interleaved(variants, rounds, warmup=3, console=console, label="execute()")
    import psutil

    last_result["bench_process_rss"] = psutil.Process().memory_info().rss
    return samples, last_result


DAG_FILE = """
from __future__ import annotations

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

from ylai_operators.script_operator import ScriptOperator

with DAG("bench_bash", schedule=None):
    BashOperator(task_id="run", bash_command={bash_command!r}, env={{"BENCH_STAMP": {bash_stamp!r}}}, append_env=True)

with DAG("bench_script", schedule=None):
    ScriptOperator(task_id="run", script_path={script!r}, runtime="bash", env={{"BENCH_STAMP": {script_stamp!r}}})
"""


def _dag_test_level(work: Path, script: Path, rounds: int, console: TextIO) -> dict[str, Samples]:
    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    stamps = {"bash": work / "stamp-dag-bash", "script": work / "stamp-dag-script"}
    (dags / "bench_dags.py").write_text(
        DAG_FILE.format(
            bash_command=f"bash {shlex.quote(str(script))}",
            bash_stamp=str(stamps["bash"]),
            script=str(script),
            script_stamp=str(stamps["script"]),
        )
    )
    print("  dag.test(): creating the SQLite metadata DB (~15 s) ...", file=console)
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import initdb

    initdb()
    bag = DagBag(str(dags))
    assert not bag.import_errors, bag.import_errors
    dag_bash, dag_script = bag.dags["bench_bash"], bag.dags["bench_script"]

    def runner(dag: Any, stamp: Path) -> Callable[[], float]:
        def run() -> float:
            dr = dag.test()
            assert dr.state == "success", f"{dag.dag_id}: {dr.state}"
            return _read_stamp(stamp)

        return run

    variants = {
        "BashOperator": runner(dag_bash, stamps["bash"]),
        "ScriptOperator": runner(dag_script, stamps["script"]),
    }
    return _interleaved(variants, rounds, warmup=2, console=console, label="dag.test()")


def _report(title: str, samples: dict[str, Samples], base: str = "BashOperator") -> list[str]:
    base_total = median(samples[base].total)
    rows = []
    for name, s in samples.items():
        rows.append(
            [
                name,
                str(len(s.total)),
                fmt_ms(median(s.total)),
                fmt_ms(median(s.before_exit)),
                fmt_ms(median(s.after_exit)),
                f"{ratio(median(s.total), base_total):.2f}",
            ]
        )
    headers = ["variant", "runs", "median total", "start->script end", "script end->return", f"/ {base}"]
    return [title, table(headers, rows)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (20 execute() rounds, 8 dag.test())")
    parser.add_argument("--rounds", type=int, help="execute() rounds (default 100, --quick 20)")
    parser.add_argument("--dag-test-rounds", type=int, help="dag.test() rounds (default 30, --quick 8)")
    parser.add_argument("--skip-dag-test", action="store_true", help="measure execute() only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (20 if args.quick else 100)
    dag_rounds = args.dag_test_rounds or (8 if args.quick else 30)

    work = Path(tempfile.mkdtemp(prefix="ylai-bench-operator-"))
    # Configure Airflow before anything imports it.
    os.environ.update(
        {
            "AIRFLOW_HOME": str(work / "home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(work / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{work / 'home' / 'airflow.db'}",
            "YLAI_ARTIFACTS_ROOT": str(work / "artifacts"),
        }
    )
    (work / "dags").mkdir()
    (work / "home").mkdir()
    # Cache bytecode under the temporary folder, as an installed venv has it (the DAG file that
    # dag.test() re-imports every call is then not recompiled), without writing to the repo.
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(work / "pycache")
    script = work / "trivial_script"  # no .sh suffix: BashOperator would take it for a Jinja template file
    script.write_text(TRIVIAL_SCRIPT)
    print(
        f"ScriptOperator vs BashOperator, script: {TRIVIAL_SCRIPT.splitlines()[0]!r} (+ end stamp); "
        f"{machine_note()}; "
        f"{bytecode_note(True)}; tmp: {work}"
    )
    lines: list[str] = []
    try:
        with quiet_fds(work / "operators.log") as console:
            level1, last = _execute_level(work, script, rounds, console)
            level2 = None if args.skip_dag_test else _dag_test_level(work, script, dag_rounds, console)

        lines += _report(f"\n1. operator.execute(context) in-process, interleaved, {rounds} rounds", level1)
        r1 = ratio(median(level1["ScriptOperator"].total), median(level1["BashOperator"].total))
        lines.append(
            f"ratio ScriptOperator/BashOperator (execute): {r1:.2f}  "
            f"target <= {TARGET_RATIO:.2f}: {verdict(r1 <= TARGET_RATIO)}"
        )
        extra = median(level1["ScriptOperator"].total) - median(level1["BashOperator"].total)
        tail = median(level1["ScriptOperator"].after_exit) - median(level1["BashOperator"].after_exit)
        rss_cost = median(level1["ScriptOperator"].total) - median(
            level1["ScriptOperator, no VmHWM reads (diagnostic)"].total
        )
        lines.append(
            f"ScriptOperator adds {fmt_ms(extra)} per execute(); {fmt_ms(tail)} of it after the script exited; "
            f"its VmHWM reads cost {fmt_ms(rss_cost)}."
        )
        lines.append(
            f"ScriptOperator reported peak_rss_bytes={last.get('peak_rss_bytes', 0) / 2**20:.1f} MiB for this "
            f"`echo ok` script, while the benchmark process that started it had RSS "
            f"{last['bench_process_rss'] / 2**20:.1f} MiB (a run this short reports the script's own VmHWM; "
            f"ru_maxrss of a vfork()ed child would be its parent's)"
        )
        if level2 is not None:
            lines += _report(f"\n2. dag.test() of a one-task DAG (in-process task run), {dag_rounds} rounds", level2)
            r2 = ratio(median(level2["ScriptOperator"].total), median(level2["BashOperator"].total))
            lines.append(
                f"ratio ScriptOperator/BashOperator (dag.test): {r2:.2f}  "
                f"target <= {TARGET_RATIO:.2f}: {verdict(r2 <= TARGET_RATIO)}"
            )
        print("\n".join(lines))
    finally:
        remove_unless_kept(work, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
