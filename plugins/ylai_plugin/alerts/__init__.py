"""Alerting: rules on runs, tasks and workers that notify Slack, e-mail or a webhook.

- ``schemas``: the rule model (scope, condition, channels, rate limit, escalation), shared by the
  API and the ``alerts:`` shorthand of manifests and pipeline YAML.
- ``engine``: firing with dedup/silences/rate limits, resolving, the delivery outbox.
- ``evaluator``: the periodic ``ylai alerts`` process (metric conditions, retries, escalation).
- ``channels`` / ``messages``: sending, and rendering in English or Simplified Chinese.
"""
