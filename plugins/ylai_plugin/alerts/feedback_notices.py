"""Forward new feedback to a Slack channel (``[ylai] feedback_slack_channel``) through the alert channels.

Sent in a background thread after the feedback is stored: Slack being slow or down never slows
or fails the person giving feedback; a failure is logged and the feedback stays on the Feedback page.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ylai_plugin import config
from ylai_plugin.alerts import channels, links
from ylai_plugin.alerts.messages import Message

log = logging.getLogger(__name__)
FEEDBACK_PAGE = "plugin/ylai-feedback"


def render(feedback: dict[str, Any]) -> Message:
    """The Slack message of one feedback: rating as stars, page, version, comment, a link to the page."""
    stars = "★" * int(feedback["rating"]) + "☆" * (5 - int(feedback["rating"]))
    title = f"ylai feedback {stars} from {feedback['user']} on {feedback['page']}"
    page = f"{links.base_url()}/{FEEDBACK_PAGE}"
    lines = [title, f"Version: {feedback['app_version']}"]
    if feedback.get("comment"):
        lines.append(str(feedback["comment"]))
    if feedback.get("last_error"):
        lines.append(f"Last error: {feedback['last_error']}")
    lines.append(f"Feedback page: {page}")
    text = "\n".join(lines)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "text": {"type": "plain_text", "text": "\n".join(lines[1:-1])[:2900] or "-"}},
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Feedback page"}, "url": page}],
        },
    ]
    payload = {"kind": "feedback", "title": title, "text": text, "feedback": {**feedback}}
    return Message(title=title, text=text, html="", blocks=blocks, payload=payload)


def forward(feedback: dict[str, Any]) -> bool:
    """Post ``feedback`` to the configured channel; whether it was sent (False: none configured, or it failed)."""
    channel = config.FEEDBACK_SLACK_CHANNEL.get().strip()
    if not channel:
        return False
    try:
        channels.send("slack", channel, None, render(feedback))
    except Exception as exc:  # forwarding is a courtesy: the feedback is stored either way
        log.warning("ylai: forwarding feedback %s to Slack %s failed: %s", feedback.get("id"), channel, exc)
        return False
    return True


def forward_in_background(feedback: dict[str, Any]) -> threading.Thread | None:
    """:func:`forward` in a daemon thread when a channel is configured; the thread (tests join it)."""
    if not config.FEEDBACK_SLACK_CHANNEL.get().strip():
        return None
    thread = threading.Thread(target=forward, args=(feedback,), name="ylai-feedback-forward", daemon=True)
    thread.start()
    return thread
