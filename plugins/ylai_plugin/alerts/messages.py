# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""Alert messages in English or Simplified Chinese: Slack blocks, HTML + text e-mail, webhook JSON.

The headline of each condition is its own (``ylai_plugin.alerts.conditions``); the texts here frame it.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from ylai_plugin.alerts.conditions import headline_template

_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "resolved": "[RESOLVED] ",
        "escalation": "[ESCALATED] ",
        "severity": "Severity",
        "rule": "Rule",
        "dag": "DAG",
        "run": "Run",
        "occurrences": "Failures in this incident",
        "started": "Started",
        "resolved_at": "Resolved",
        "params": "Parameters",
        "error": "Error (last lines)",
        "log": "Log",
        "open_run": "Open the run",
        "open_log": "Open the task log",
        "footer": "ylai alert #{id}",
        "info": "info",
        "warning": "warning",
        "critical": "critical",
    },
    "zh-CN": {
        "resolved": "【已恢复】",
        "escalation": "【升级】",
        "severity": "严重程度",
        "rule": "规则",
        "dag": "DAG",
        "run": "运行",
        "occurrences": "本次事件的失败次数",
        "started": "开始时间",
        "resolved_at": "恢复时间",
        "params": "参数",
        "error": "错误（最后几行）",
        "log": "日志",
        "open_run": "查看运行",
        "open_log": "查看任务日志",
        "footer": "ylai 告警 #{id}",
        "info": "提示",
        "warning": "警告",
        "critical": "严重",
    },
}


def _seconds(value: Any) -> str:
    try:
        total = round(float(value))
    except (TypeError, ValueError):
        return "?"
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


class _Defaults(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def headline(condition_type: str, details: dict[str, Any], language: str) -> str:
    """The one-line description of what happened, in ``language`` (the condition's own text)."""
    values = _Defaults(details)
    values["elapsed"] = _seconds(details.get("elapsed_seconds"))
    values["limit"] = _seconds(details.get("limit_seconds"))
    values["wait"] = _seconds(details.get("wait_seconds"))
    values["silence"] = _seconds(details.get("silence_seconds"))
    return headline_template(condition_type, details, language).format_map(values)


@dataclass
class Message:
    """One rendered message, in every shape the channels need."""

    title: str
    text: str
    html: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)


def render(alert: dict[str, Any], kind: str, language: str) -> Message:
    """Render ``alert`` (see ``engine.alert_dict``) for a ``firing``/``resolved``/``escalation`` delivery."""
    texts = TEXTS.get(language, TEXTS["en"])
    details: dict[str, Any] = alert.get("details") or {}
    title = headline(alert["condition_type"], details, language)
    if kind == "resolved":
        title = texts["resolved"] + title
    elif kind == "escalation":
        title = texts["escalation"] + title
    severity = str(alert["severity"])
    links: dict[str, str] = details.get("links") or {}
    fields: list[tuple[str, str]] = [
        (texts["severity"], texts.get(severity, severity)),
        (texts["rule"], str(alert["rule_name"])),
    ]
    if details.get("dag_id"):
        fields.append((texts["dag"], str(details["dag_id"])))
    if details.get("run_id"):
        fields.append((texts["run"], str(details["run_id"])))
    if int(alert.get("occurrences") or 1) > 1:
        fields.append((texts["occurrences"], str(alert["occurrences"])))
    fields.append((texts["started"], str(alert["started_at"])))
    if kind == "resolved" and alert.get("resolved_at"):
        fields.append((texts["resolved_at"], str(alert["resolved_at"])))
    params = details.get("params") or {}
    params_text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in list(params.items())[:20])
    error_tail = str(details.get("error_tail") or "")[-3000:] if kind != "resolved" else ""
    footer = texts["footer"].format(id=alert["id"])

    lines = [title, ""] + [f"{name}: {value}" for name, value in fields]
    if params_text:
        lines.append(f"{texts['params']}: {params_text}")
    if error_tail:
        lines += ["", texts["error"] + ":", error_tail]
    for key, label in (("run", "open_run"), ("log", "open_log")):
        if links.get(key):
            lines.append(f"{texts[label]}: {links[key]}")
    lines += ["", footer]
    text = "\n".join(lines)

    emoji = ":white_check_mark:" if kind == "resolved" else _EMOJI.get(severity, "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in fields[:10]],
        },
    ]
    if params_text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{texts['params']}*\n{params_text}"}})
    if error_tail:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{texts['error']}*\n```{error_tail[-2500:]}```"}}
        )
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": texts[label]}, "url": links[key]}
        for key, label in (("run", "open_run"), ("log", "open_log"))
        if links.get(key)
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"{emoji} {footer}"}]})

    esc = html.escape
    rows = "".join(
        f"<tr><th align='left' style='padding:2px 12px 2px 0'>{esc(n)}</th><td>{esc(v)}</td></tr>" for n, v in fields
    )
    parts = [f"<h2 style='margin:0 0 8px'>{esc(title)}</h2>", f"<table>{rows}</table>"]
    if params_text:
        parts.append(f"<p><b>{esc(texts['params'])}</b>: {esc(params_text)}</p>")
    if error_tail:
        parts.append(f"<p><b>{esc(texts['error'])}</b></p><pre style='background:#f6f8fa'>{esc(error_tail)}</pre>")
    for key, label in (("run", "open_run"), ("log", "open_log")):
        if links.get(key):
            parts.append(f"<p><a href='{esc(links[key], quote=True)}'>{esc(texts[label])}</a></p>")
    parts.append(f"<p style='color:#888'>{esc(footer)}</p>")
    body = f"<html><body style='font-family:sans-serif'>{''.join(parts)}</body></html>"

    payload = {
        "kind": kind,
        "title": title,
        "text": text,
        "language": language,
        "alert": {k: alert.get(k) for k in ("id", "rule_id", "rule_name", "condition_type", "state", "severity")}
        | {"dedup_key": alert.get("dedup_key"), "started_at": str(alert.get("started_at"))},
        "details": details,
    }
    return Message(title=title, text=text, html=body, blocks=blocks, payload=payload)
