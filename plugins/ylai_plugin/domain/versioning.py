"""What database scripts and database pipelines share about their versions.

Both keep immutable numbered versions in a table of their own (``ylai_script_version``,
``ylai_pipeline_version``) and restore an old one the same way: a *new* version equal to the
old one, so that history is never rewritten. The lookup and the restore's wording live here
once; :mod:`ylai_plugin.domain.scripts` and :mod:`ylai_plugin.domain.pipelines` add what is
their own (checking the manifest or compiling the spec again, publishing, the audit event).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select

from ylai_plugin.domain.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import InstrumentedAttribute, Session

V = TypeVar("V")


def find(session: Session, number_column: InstrumentedAttribute[int], owner: tuple[Any, int], number: int) -> Any:
    """The row whose ``number_column`` is ``number`` and whose owner column (``owner[0]``) is ``owner[1]``."""
    column, owner_id = owner
    return session.scalar(select(number_column.class_).where(column == owner_id, number_column == number))


def require(found: V | None, missing: Callable[[], NotFound]) -> V:
    """``found``, or the error ``missing()`` builds (``not_found("Pipeline version", "<name> v<number>")``).

    The caller builds the error: ``not_found`` takes a literal kind, which the test of the
    Chinese catalog reads from the source.
    """
    if found is None:
        raise missing()
    return found


def restore_comment(number: int, comment: str) -> str:
    """The comment of a restored version: the one given, else ``Restore of version <number>``."""
    return comment or f"Restore of version {number}"


def digest(content: str) -> str:
    """A short content digest, ``sha256:<12 hex digits>``: the form a repository script's runs show.

    The same as :func:`ylai_operators.script_tracing.script_version` computes for a file, so a
    version listed here and a run's version can be compared by eye.
    """
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()[:12]
