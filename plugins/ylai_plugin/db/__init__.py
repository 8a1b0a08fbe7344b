"""ylai's tables in the Airflow metadata database, and their Alembic migrations.

Importing the package imports every model module, so :data:`metadata` lists all of ylai's
tables (what ``YlaiDBManager`` and the migrations compare against), whichever module a caller
imports first. The model modules only import :mod:`ylai_plugin.db.base`, never each other or
this package's other modules, so there is no cycle.

Nothing here changes global state: the change counters' Session listeners are installed by
:func:`ylai_plugin.db.generations.install_listeners`, which a process that writes ylai's
tables calls at start-up (the API's app factory does).
"""

from __future__ import annotations

from ylai_plugin.db import alert_models as alert_models
from ylai_plugin.db import breaker_models as breaker_models
from ylai_plugin.db import export_models as export_models
from ylai_plugin.db import models as models
from ylai_plugin.db import usage_models as usage_models
from ylai_plugin.db.base import Base as Base
from ylai_plugin.db.base import metadata as metadata
