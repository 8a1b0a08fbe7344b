"""Reports and exports: runs, tasks, scripts, audit log, monitor statistics and alert history as CSV, xlsx or PDF.

``datasets`` turns filters into streamed rows and a summary (its figures from
:mod:`ylai_plugin.domain.stats`), ``writers`` renders them, ``jobs`` runs long exports in the
background, ``exports`` is what the API's ``/exports`` routes call (permissions, summaries, jobs).
"""
