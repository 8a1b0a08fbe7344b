"""Real receivers on 127.0.0.1 for alert tests: a Slack-compatible HTTP server and an SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SlackReceiver:
    """Answers Slack's Web API (``POST /api/chat.postMessage``) and webhooks, recording every POST.

    ``stop()`` closes the socket (connection refused, like a Slack outage seen from here);
    ``start()`` listens again on the same port. ``fail_first`` makes it answer its first
    ``fail_first`` POSTs with HTTP ``fail_status`` and Slack's ``{"ok": false}`` (a Slack outage
    that answers), the later ones as usual. Each recorded POST has the ``status`` answered.
    """

    def __init__(self, fail_first: int = 0, fail_status: int = 500) -> None:
        self.port = free_port()
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.posts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw or b"{}")
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                with receiver._lock:
                    failing = len(receiver.posts) < receiver.fail_first
                    status = receiver.fail_status if failing else 200
                    receiver.posts.append(
                        {"path": self.path, "body": body, "headers": dict(self.headers), "status": status}
                    )
                answer = (
                    {"ok": False, "error": "internal_error"} if failing else {"ok": True, "channel": "C1", "ts": "1.1"}
                )
                out = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def messages(self, path: str = "/api/chat.postMessage") -> list[dict[str, Any]]:
        with self._lock:
            return [p["body"] for p in self.posts if p["path"] == path]

    def count(self, status: int | None = None) -> int:
        """How many POSTs it got (of them, how many it answered with ``status``)."""
        with self._lock:
            return sum(1 for p in self.posts if status is None or p["status"] == status)


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1 keeping every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.messages: list[EmailMessage] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = message_from_bytes(envelope.content, policy=policy.default)
                receiver.messages.append(msg)
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def slack_connection(receiver: SlackReceiver) -> str:
    """An ``AIRFLOW_CONN_*`` value: a Slack API connection whose base URL is the receiver."""
    return json.dumps({"conn_type": "slack", "password": "xoxb-test", "extra": {"base_url": receiver.api_url}})


def smtp_connection(receiver: SmtpReceiver) -> str:
    """An ``AIRFLOW_CONN_*`` value: plain SMTP to the receiver."""
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": receiver.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "ylai@example.com"},
        }
    )
