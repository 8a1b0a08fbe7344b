"""DAG-file parse time of ylai's generator files on a large catalog vs a hand-written DAG.

Run from the repository root::

    .venv/bin/python bench/dag_parse_time.py           # 7 repetitions, ~2-3 min
    .venv/bin/python bench/dag_parse_time.py --quick   # 3 repetitions, ~1 min

A temporary DAGs folder gets 200 generated scripts (YAML manifest with 3-7 parameters of
mixed types -- integer, string, number, boolean, enum, date, array, object -- three typed
outputs, and a tiny Python script each) and 50 pipelines of 4-8 nodes, chained with
``{from: <node>.value}`` bindings plus a few ``{from: <node>.score}`` skip bindings and
literals. Beside them: copies of ``dags/ylai_scripts.py``, ``ylai_pipelines.py``,
``ylai_spec_errors.py`` and ``.airflowignore``, and ``hand_written.py`` with one DAG of one
BashOperator, the baseline.

Each measurement is one fresh ``python`` subprocess that does what a DAG-processor child
does, timing only the file: Airflow and ``airflow.dag_processing.processor`` are imported
first (not timed), then the ``airflow.*`` modules the file imports (the manager pre-imports
those before forking, ``[dag_processor] parsing_pre_import_modules``), then
``processor._parse_file(DagFileParseRequest(...))`` -- the child's own entry point: the
stability check, ``BundleDagBag`` import of the file and ``DagSerialization.to_dict`` of each
DAG -- is timed, with serialization timed separately. ``ylai_operators`` is *not* pre-imported
(the manager only pre-imports ``airflow.*``), so its import cost counts, as in production.
The task runner parses the same file again at the start of every task instance
(``task_runner.parse``), so the parse time of ``ylai_pipelines.py`` is also paid once per
pipeline task.

Files are measured round-robin (file order rotated each repetition) after one uncounted
round. Bytecode is cached in a temporary ``PYTHONPYCACHEPREFIX`` as in an installed venv,
even if ``PYTHONDONTWRITEBYTECODE`` is exported (``--no-bytecode-cache`` keeps it, and every
child then compiles ``ylai_operators`` and the Airflow modules it imports lazily). The target is that
each generator file is processed (parse + serialize) in under 1 s. A breakdown of the
generator files' work (import of ``ylai_operators``, manifest loading, DAG building) is
measured the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from _common import (
    GENERATOR_FILES,
    PYTHON,
    REPO_ROOT,
    bytecode_env,
    bytecode_note,
    machine_note,
    median,
    ratio,
    remove_unless_kept,
    table,
    verdict,
)

N_SCRIPTS = 200
N_PIPELINES = 50
TARGET_SECONDS = 1.0
BASELINE = "hand_written.py"

HAND_WRITTEN = '''"""A hand-written DAG with a single BashOperator: the baseline."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id="hand_written",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["bench"],
    default_args={"owner": "bench", "retries": 1},
):
    BashOperator(task_id="hello", bash_command="echo hello")
'''

SCRIPT_BODY = '''"""Generated benchmark script {name}: adds one to ``value``."""

import json
import os
from pathlib import Path

params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
value = int(params.get("value") or 0) + 1
result = {{"value": value, "message": "ok from {name}", "score": 0.5}}
Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps(result))
'''

# Optional parameters a generated script may take, besides the integer ``value`` every one has.
OPTIONAL_PARAMS: dict[str, dict[str, Any]] = {
    "label": {"type": "string", "default": "x", "maxLength": 64, "description": "A label."},
    "ratio": {"type": "number", "default": 0.5, "minimum": 0, "maximum": 1},
    "enabled": {"type": "boolean", "default": True},
    "mode": {
        "type": "enum",
        "enum": ["fast", "full", "dry"],
        "labels": {"fast": "Fast", "full": "Full", "dry": "Dry run"},
        "default": "fast",
    },
    "day": {"type": "date", "default": "2024-01-01"},
    "columns": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}, "default": ["a"]},
    "options": {"type": "object", "default": {}},
    "token": {"type": "string", "secret": True},
}


def _script_manifest(name: str, rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {"value": {"type": "integer", "default": 0, "minimum": 0, "description": "Input."}}
    for key in rng.sample(sorted(OPTIONAL_PARAMS), rng.randint(2, 6)):
        params[key] = OPTIONAL_PARAMS[key]
    return {
        "name": name,
        "title": f"Benchmark script {name}",
        "description": f"Generated script {name} for the DAG parse benchmark.\nSecond line.",
        "owner": "bench",
        "tags": ["bench", f"group{rng.randint(0, 9)}"],
        "runtime": "python",
        "timeout": "5m",
        "retries": 1,
        "params": params,
        "outputs": {
            "value": {"type": "integer", "description": "value + 1"},
            "message": {"type": "string"},
            "score": {"type": "number"},
        },
    }


def _pipeline(index: int, manifests: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    n_nodes = rng.randint(4, 8)
    nodes: dict[str, Any] = {}
    for k in range(1, n_nodes + 1):
        manifest = rng.choice(manifests)
        declared = manifest["params"]
        params: dict[str, Any] = {"value": {"param": "start"} if k == 1 else {"from": f"step_{k - 1}.value"}}
        if "ratio" in declared and k >= 3:
            params["ratio"] = {"from": f"step_{k - 2}.score"}  # a skip edge besides the chain
        if "label" in declared:
            params["label"] = f"p{index}-n{k}"
        if "mode" in declared:
            params["mode"] = "full"
        nodes[f"step_{k}"] = {"script": manifest["name"], "params": params}
    return {
        "name": f"pipeline_{index:03d}",
        "title": f"Benchmark pipeline {index}",
        "description": "Generated pipeline for the DAG parse benchmark.",
        "owner": "bench",
        "tags": ["bench"],
        "retries": 1,
        "params": {"start": {"type": "integer", "default": 1, "minimum": 0}},
        "nodes": nodes,
    }


def generate_dags_folder(dags: Path, n_scripts: int = N_SCRIPTS, n_pipelines: int = N_PIPELINES) -> None:
    """Write ``n_scripts`` scripts, ``n_pipelines`` pipelines and ylai's DAG files into ``dags``."""
    rng = random.Random(20240101)  # noqa: S311 - reproducible test data, not crypto
    scripts, pipelines = dags / "scripts", dags / "pipelines"
    scripts.mkdir(parents=True)
    pipelines.mkdir()
    manifests = []
    for i in range(n_scripts):
        name = f"bench_script_{i:03d}"
        manifest = _script_manifest(name, rng)
        manifests.append(manifest)
        (scripts / f"{name}.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
        (scripts / f"{name}.py").write_text(SCRIPT_BODY.format(name=name))
    for i in range(n_pipelines):
        spec = _pipeline(i, manifests, rng)
        (pipelines / f"{spec['name']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    for name in (*GENERATOR_FILES, ".airflowignore"):
        shutil.copy(REPO_ROOT / "dags" / name, dags / name)


# Runs in a fresh interpreter: argv = [file, bundle_path, dag_id or ""]; prints one JSON line.
# With a dag_id, the file is parsed the way the task runner parses it to run a task of that
# DAG (Airflow's parsing context set to the dag_id).
CHILD = r"""
import importlib, json, os, sys, time
from pathlib import Path

import airflow  # noqa: F401  -- not timed: the DAG processor has Airflow loaded already
from airflow.dag_processing import processor
from airflow.utils.file import iter_airflow_imports

path, bundle, dag_id = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
if dag_id:
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    os.environ[_AIRFLOW_PARSING_CONTEXT_DAG_ID] = dag_id

# As in processor._parse_file_entrypoint: a client-side process whose Variable and Connection
# lookups go to the supervisor over SUPERVISOR_COMMS. The stand-in answers "not found" at once
# (the real one is one round trip to the DAG processor); without it the SDK would fall back to
# importing the ORM and querying the metadata DB, which a DAG-processor child never does.
os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "client"
from airflow.sdk.exceptions import ErrorType
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import ErrorResponse

class _NotFoundComms:
    def send(self, msg):
        return ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"message": "not found"})

task_runner.SUPERVISOR_COMMS = _NotFoundComms()
for module in iter_airflow_imports(path):  # what the manager pre-imports before forking
    importlib.import_module(module)

serialize_seconds = 0.0
_serialize = processor._serialize_dags

def _timed_serialize(bag, log):
    global serialize_seconds
    started = time.perf_counter()
    try:
        return _serialize(bag, log)
    finally:
        serialize_seconds += time.perf_counter() - started

processor._serialize_dags = _timed_serialize
import structlog

request = processor.DagFileParseRequest(file=path, bundle_path=bundle, bundle_name="dags-folder")
started = time.perf_counter()
result = processor._parse_file(request, structlog.get_logger())
total = time.perf_counter() - started
print(json.dumps({
    "total": total,
    "serialize": serialize_seconds,
    "dags": len(result.serialized_dags) if result else 0,
    "import_errors": {k: v[-300:] for k, v in (result.import_errors or {}).items()} if result else {},
}))
"""

# Breakdown of the generator files' work in a fresh interpreter: argv = [dags folder].
BREAKDOWN = r"""
import json, sys, time
from pathlib import Path

import airflow  # noqa: F401
import airflow.sdk  # noqa: F401

folder = Path(sys.argv[1])
t0 = time.perf_counter()
from ylai_operators import dag_factory
from ylai_operators.script_dags import build_script_dag
t1 = time.perf_counter()
cold = dag_factory.load_registry(folder / "scripts", use_cache=False)
t2 = time.perf_counter()
registry = dag_factory.load_registry(folder / "scripts")
t3 = time.perf_counter()
scripts = [build_script_dag(s) for s in registry.scripts.values()]
t4 = time.perf_counter()
pipelines, _ = dag_factory.load_pipelines(folder / "pipelines", registry)
t5 = time.perf_counter()
dags = [dag_factory.build_pipeline_dag(p, registry) for p in pipelines.values()]
t6 = time.perf_counter()
print(json.dumps({
    "import ylai_operators": t1 - t0,
    f"load {len(cold.scripts)} script manifests, no cache": t2 - t1,
    f"load {len(registry.scripts)} script manifests, cached": t3 - t2,
    f"build {len(scripts)} script DAGs": t4 - t3,
    f"load (cached) + check {len(pipelines)} pipeline specs": t5 - t4,
    f"build {len(dags)} pipeline DAGs": t6 - t5,
}))
"""


def _child_env(work: Path, dags: Path, bytecode_cache: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "YLAI_"))}
    env |= bytecode_env(work, bytecode_cache)
    env |= {
        "AIRFLOW_HOME": str(work / "home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{work / 'home' / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    return env


def _run_child(code: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [PYTHON, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"measurement of {args} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 7")
    parser.add_argument("--reps", type=int, help="repetitions per file (default 7, --quick 3)")
    parser.add_argument("--keep", action="store_true", help="keep the generated DAGs folder")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="keep the caller's PYTHONDONTWRITEBYTECODE")
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 7)

    work = Path(tempfile.mkdtemp(prefix="ylai-bench-parse-"))
    dags = work / "dags"
    (work / "home").mkdir()
    try:
        generate_dags_folder(dags)
        (dags / BASELINE).write_text(HAND_WRITTEN)
        env = _child_env(work, dags, not args.no_bytecode_cache)
        from ylai_operators.dag_factory import PIPELINE_SHARDS, SCRIPT_SHARDS, shard_of

        # label -> (file, dag_id of the parsing context or "")
        targets: dict[str, tuple[str, str]] = {name: (name, "") for name in (BASELINE, *GENERATOR_FILES)}
        script, pipeline = "bench_script_042", "pipeline_007"
        startup = {
            f"task start-up: script__{script}": (
                f"ylai_scripts_{shard_of(script, SCRIPT_SHARDS)}.py",
                f"script__{script}",
            ),
            f"task start-up: pipeline__{pipeline}": (
                f"ylai_pipelines_{shard_of(pipeline, PIPELINE_SHARDS)}.py",
                f"pipeline__{pipeline}",
            ),
        }
        targets |= startup
        print(
            f"DAGs folder {dags}: {N_SCRIPTS} scripts, {N_PIPELINES} pipelines "
            f"({sum(len(yaml.safe_load(p.read_text())['nodes']) for p in (dags / 'pipelines').glob('*.yaml'))} "
            f"nodes); {reps} fresh-process measurements per file after one uncounted round; "
            f"{machine_note()}; "
            f"{bytecode_note(not args.no_bytecode_cache)}",
            flush=True,
        )

        def measure(label: str) -> dict[str, Any]:
            file, dag_id = targets[label]
            return _run_child(CHILD, [str(dags / file), str(dags), dag_id], env)

        labels = list(targets)
        for label in labels:  # warm-up: bytecode cache, page cache, ylai's spec cache
            measure(label)
        samples: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
        breakdowns: list[dict[str, float]] = []
        for rep in range(reps):
            order = labels[rep % len(labels) :] + labels[: rep % len(labels)]
            for label in order:
                samples[label].append(measure(label))
            breakdowns.append(_run_child(BREAKDOWN, [str(dags)], env))
            print(f"  repetition {rep + 1}/{reps} done", flush=True)

        base = median([s["total"] for s in samples[BASELINE]])
        rows = []
        verdicts = []
        for label in labels:
            totals = [s["total"] for s in samples[label]]
            serial = [s["serialize"] for s in samples[label]]
            parse = [t - s for t, s in zip(totals, serial, strict=True)]
            errors = samples[label][-1]["import_errors"]
            rows.append(
                [
                    label,
                    str(samples[label][-1]["dags"]),
                    str(len(errors)),
                    f"{median(parse):.3f} s",
                    f"{median(serial):.3f} s",
                    f"{median(totals):.3f} s",
                    f"{min(totals):.3f}-{max(totals):.3f}",
                    f"{ratio(median(totals), base):.1f}x",
                ]
            )
            if label in GENERATOR_FILES:
                ok = median(totals) < TARGET_SECONDS
                verdicts.append((label, median(totals), ok))
            for path, error in errors.items():
                print(f"  import error in {label}: {path}: {error.strip().splitlines()[-1]}")
        headers = ["file", "DAGs", "errors", "parse", "serialize", "median total", "min-max", f"vs {BASELINE}"]
        print()
        print(table(headers, rows))
        print("(medians; 'parse' = stability check + import of the file in a BundleDagBag; total = parse + serialize;")
        print(" 'task start-up' = the same file imported with Airflow's parsing context set to one DAG id, as the")
        print(" task runner does before every task: only that DAG is built)")
        slowest = max(verdicts, key=lambda v: v[1])
        print(
            f"every generator file < {TARGET_SECONDS:.0f} s: {verdict(all(ok for _, _, ok in verdicts))} "
            f"(slowest: {slowest[0]}, median {slowest[1]:.3f} s; {len(verdicts)} files)"
        )
        cycle = sum(median([s["total"] for s in samples[name]]) for name in GENERATOR_FILES)
        print(
            f"\nDAG-processor CPU to re-parse the {len(GENERATOR_FILES)} generator files: {cycle:.1f} s per "
            f"[dag_processor] min_file_process_interval, i.e. {cycle / 10:.0%} of one core at ylai's 10 s, "
            f"{cycle / 30:.0%} at the stock 30 s."
        )
        print("Breakdown of the work for the whole catalog (medians, fresh process, Airflow already imported):")
        for key in breakdowns[0]:
            print(f"  {key:<52} {median([b[key] for b in breakdowns]):.3f} s")
    finally:
        remove_unless_kept(work, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
