"""``ylai_plugin.db``: importing it registers every table and changes no global state."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Each check runs in a fresh interpreter: this test process has long since imported the models
# and built the API app, which installs the listeners.
FRESH_IMPORT = """
from sqlalchemy import event
from sqlalchemy.orm import Session

import {module}
from ylai_plugin.db import generations, metadata

print(sorted(metadata.tables))
print(generations.listeners_installed())
print(any(event.contains(Session, name, fn) for name, fn in generations._LISTENERS))
"""


def _fresh(module: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", FRESH_IMPORT.format(module=module)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()[-3:]  # after whatever Airflow logs on import


@pytest.mark.parametrize("module", ["ylai_plugin.db.models", "ylai_plugin.db.alert_models", "ylai_plugin.db.manager"])
def test_any_model_module_brings_every_table_and_no_listener(module: str) -> None:
    tables, installed, any_installed = _fresh(module)
    for table in ("ylai_task", "ylai_generation", "ylai_alert_rule", "ylai_alert_delivery", "ylai_export_job"):
        assert repr(table) in tables
    assert installed == "False"
    assert any_installed == "False"


INSTALL_TWICE = textwrap.dedent(
    """
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from ylai_plugin.db import generations, metadata
    from ylai_plugin.db.models import Generation, Preset

    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    generations.install_listeners()
    generations.install_listeners()
    assert generations.listeners_installed()
    with Session(engine) as session:
        session.add(Preset(name="p", dag_id="d", params={}, owner="o"))
        session.commit()
        print(session.scalars(select(Generation.value).where(Generation.name == "presets")).all())
    """
)


def test_installed_twice_a_commit_still_raises_its_counter_once() -> None:
    done = subprocess.run([sys.executable, "-c", INSTALL_TWICE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "[1]"


def test_the_api_app_factory_installs_them() -> None:
    from ylai_plugin.api.app import create_app
    from ylai_plugin.db import generations

    create_app()
    assert generations.listeners_installed()
