"""Reports and exports: runs, tasks, scripts, audit log, monitor statistics and alert history as CSV, xlsx or PDF.

``datasets`` turns filters into streamed rows and a summary, ``writers`` renders them, ``jobs``
runs long exports in the background; the API is in :mod:`ylai_plugin.api.routes.exports`.
"""
