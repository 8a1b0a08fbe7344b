# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""Tell approvers that a run waits for them: one message per ``approval.notify`` channel, in its language.

Sent by the Airflow listener when a run's ``approval`` task starts (in the task's process, which
reads connections like any task), through the alert channels (:mod:`ylai_plugin.alerts.channels`:
Slack, e-mail, webhook). Each message links to ylai's Approvals page and to the run in Airflow.
A channel that fails is logged and skipped: a notice must never fail the approval task.
"""

from __future__ import annotations

import html
import logging
from typing import Any
from urllib.parse import quote

from ylai_plugin.alerts import channels, links
from ylai_plugin.alerts.messages import Message

log = logging.getLogger(__name__)
APPROVALS_PAGE = "plugin/ylai-approvals"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Approval needed: {kind} {target}, started by {requester}",
        "approvers": "Approvers",
        "timeout": "Times out after",
        "four_eyes": "Whoever started the run cannot approve it.",
        "comment": "A comment is required.",
        "open": "Open the Approvals page",
        "run": "Open the run",
    },
    "zh-CN": {
        "title": "需要审批：{kind} {target}，由 {requester} 发起",
        "approvers": "审批人",
        "timeout": "超时时间",
        "four_eyes": "发起运行的人不能审批（四眼原则）。",
        "comment": "审批须填写意见。",
        "open": "打开审批页面",
        "run": "查看运行",
    },
}
KINDS = {"zh-CN": {"script": "脚本", "pipeline": "流水线", "task": "任务"}}


def render(request: dict[str, Any], language: str) -> Message:
    """The message for one request (``kind``, ``target``, ``requester``, ``approvers``, ``dag_id``, ``run_id``)."""
    texts = TEXTS.get(language, TEXTS["en"])
    kind = KINDS.get(language, {}).get(request["kind"], request["kind"])
    title = texts["title"].format(kind=kind, target=request["target"], requester=request.get("requester") or "?")
    page = f"{links.base_url()}/{APPROVALS_PAGE}?run_id={quote(str(request['run_id']), safe='')}"
    run = links.run_links(request["dag_id"], request["run_id"]).get("run", "")
    hours = float(request.get("timeout_seconds") or 0) / 3600
    fields = [(texts["approvers"], ", ".join(request.get("approvers") or [])), (texts["timeout"], f"{hours:g} h")]
    notes = ([texts["four_eyes"]] if request.get("four_eyes") else []) + (
        [texts["comment"]] if request.get("reason_required") else []
    )
    text = "\n".join(
        [title, ""] + [f"{n}: {v}" for n, v in fields] + notes + [f"{texts['open']}: {page}", f"{texts['run']}: {run}"]
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{n}*\n{v}"} for n, v in fields]},
    ]
    if notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " ".join(notes)}]})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": texts["open"]}, "url": page},
                {"type": "button", "text": {"type": "plain_text", "text": texts["run"]}, "url": run},
            ],
        }
    )
    esc = html.escape
    rows = "".join(f"<tr><th align='left'>{esc(n)}</th><td>{esc(v)}</td></tr>" for n, v in fields)
    body = (
        f"<html><body style='font-family:sans-serif'><h2>{esc(title)}</h2><table>{rows}</table>"
        + "".join(f"<p>{esc(n)}</p>" for n in notes)
        + f"<p><a href='{esc(page, quote=True)}'>{esc(texts['open'])}</a> · "
        f"<a href='{esc(run, quote=True)}'>{esc(texts['run'])}</a></p></body></html>"
    )
    payload = {"kind": "approval_request", "title": title, "text": text, "language": language, "request": request}
    return Message(title=title, text=text, html=body, blocks=blocks, payload=payload)


def notify(request: dict[str, Any], targets: list[dict[str, Any]]) -> int:
    """Send ``request`` to each ``approval.notify`` target; the number sent."""
    sent = 0
    for target in targets:
        try:
            message = render(request, str(target.get("language") or "en"))
            channels.send(str(target["type"]), str(target["target"]), target.get("connection_id"), message)
        except Exception as exc:  # a notice never fails the approval task
            log.warning("ylai: approval notice to %s %s failed: %s", target.get("type"), target.get("target"), exc)
            continue
        sent += 1
    return sent
