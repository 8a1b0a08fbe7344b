"""Alerting: rules on runs, tasks and workers that notify Slack, e-mail or a webhook.

- ``conditions``: the registry of condition types, one module per type (params, evaluation,
  message texts, UI label keys); everything that lists conditions reads it.
- ``schemas``: the rule model (scope, condition, channels, rate limit, escalation), shared by the
  API and the ``alerts:`` shorthand of manifests and pipeline YAML.
- ``rules``: rules, silences and the alert history as the API manages them (no HTTP).
- ``engine``: firing with dedup/silences/rate limits, resolving, the delivery outbox.
- ``evaluator``: the periodic ``ylai alerts`` process (metric conditions, retries, escalation).
- ``events``: what the Airflow listener records when runs and tasks fail or succeed.
- ``channels`` / ``messages`` / ``links``: sending, rendering in English or Simplified Chinese,
  links to Airflow's UI.
"""
