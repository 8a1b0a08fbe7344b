"""What every ylai table shares: the MetaData (with its naming convention), ``Base`` and the UTC column type.

ylai's tables live in Airflow's metadata DB under their own MetaData and version table. The
model modules (:mod:`~ylai_plugin.db.models`, :mod:`~ylai_plugin.db.alert_models`,
:mod:`~ylai_plugin.db.export_models`) build on this module; :mod:`ylai_plugin.db` imports
them all, so :data:`metadata` is complete once the package is imported.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Timezone-aware now, stored as UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always gives back timezone-aware UTC datetimes.

    SQLite has no time zone type: SQLAlchemy stores the wall-clock time and returns a naive
    datetime. Values are converted to UTC on the way in (a naive one is taken as UTC) and
    tagged UTC on the way out, so every backend answers ``...+00:00``. The column's DDL is
    the plain ``DateTime(timezone=True)`` (``impl``), so migrations are unchanged.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """To UTC (a naive datetime is taken as UTC already)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Timezone-aware UTC, whatever the backend returned."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base bound to ylai's own MetaData (not Airflow's)."""

    metadata = metadata
