# ruff: noqa: RUF001  (the Chinese messages use full-width punctuation on purpose)
"""Approval notices: one message per ``notify`` channel, in its language, with links; failures are skipped."""

from __future__ import annotations

from typing import Any

import pytest

from ylai_plugin.alerts import approval_notices, channels

REQUEST = {
    "kind": "script",
    "target": "rotate_token",
    "requester": "bob",
    "approvers": ["Op", "alice"],
    "timeout_seconds": 86400.0,
    "four_eyes": True,
    "reason_required": True,
    "dag_id": "script__rotate_token",
    "run_id": "manual__2026-12-05T10:00:00+00:00",
}


def test_the_english_message_names_the_run_the_approvers_and_links_to_the_page() -> None:
    message = approval_notices.render(REQUEST, "en")
    assert message.title == "Approval needed: script rotate_token, started by bob"
    assert "Approvers: Op, alice" in message.text
    assert "Times out after: 24 h" in message.text
    assert "cannot approve it" in message.text
    assert "/plugin/ylai-approvals?run_id=manual__2026-12-05T10%3A00%3A00%2B00%3A00" in message.text
    buttons = [e["url"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons[0].endswith("/plugin/ylai-approvals?run_id=manual__2026-12-05T10%3A00%3A00%2B00%3A00")
    assert "/dags/script__rotate_token/runs/" in buttons[1]
    assert "<h2>Approval needed: script rotate_token, started by bob</h2>" in message.html


def test_the_chinese_message_is_chinese() -> None:
    message = approval_notices.render(REQUEST, "zh-CN")
    assert message.title == "需要审批：脚本 rotate_token，由 bob 发起"
    assert "审批人: Op, alice" in message.text
    assert "打开审批页面" in message.text


def test_each_channel_gets_its_language_and_a_failing_one_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str, Any, str]] = []

    def send(channel_type: str, target: str, connection_id: Any, message: Any) -> None:
        if target == "#broken":
            raise RuntimeError("slack is down")
        sent.append((channel_type, target, connection_id, message.title))

    monkeypatch.setattr(channels, "send", send)
    targets = [
        {"type": "slack", "target": "#broken", "language": "en"},
        {"type": "slack", "target": "#approvals", "connection_id": "slack_sec", "language": "en"},
        {"type": "email", "target": "sec@example.com", "language": "zh-CN"},
    ]
    assert approval_notices.notify(REQUEST, targets) == 2
    assert sent == [
        ("slack", "#approvals", "slack_sec", "Approval needed: script rotate_token, started by bob"),
        ("email", "sec@example.com", None, "需要审批：脚本 rotate_token，由 bob 发起"),
    ]
