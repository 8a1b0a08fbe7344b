"""Surfaces broken ylai specs as an Airflow DAG import error.

This file defines no DAG. When a script manifest or pipeline spec is invalid, importing
it fails with one message per problem (file, field or node, reason), which Airflow shows
under "DAG Import Errors"; the valid scripts and pipelines keep loading from
``ylai_scripts_<i>.py`` and ``ylai_pipelines_<i>.py``. Scripts and pipelines created through
ylai's API are reported too, as ``database/<name>`` (a pipeline: ``database/<name>.yaml``).
"""

from __future__ import annotations

from pathlib import Path

from ylai_operators.dag_factory import SpecErrors, spec_errors

_errors = spec_errors(Path(__file__).resolve().parent)
if _errors:
    raise SpecErrors(_errors)
