"""A real Sentry ingest endpoint on 127.0.0.1: accepts envelopes, decodes them, records their events.

``POST /api/<project>/envelope/`` with an envelope (plain or gzip; brotli is refused with 415, the
SDK falls back to gzip when the brotli module is absent, as in this venv): a header line, then per
item an item-header line and its payload (``length`` bytes, or up to the next newline).
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from tests.alert_receivers import free_port
from tests.http_receiver import QuietHandler, close, serve

_ENVELOPE_PATH = re.compile(r"^/api/(?P<project>\d+)/envelope/?(\?.*)?$")


def parse_envelope(raw: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """Split an envelope into its header and its (item header, payload) pairs."""
    header_line, _, rest = raw.partition(b"\n")
    header: dict[str, Any] = json.loads(header_line)
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        if not item_line.strip():
            continue
        item_header: dict[str, Any] = json.loads(item_line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            rest = rest.removeprefix(b"\n")
        items.append((item_header, payload))
    return header, items


class SentryReceiver:
    """Records every envelope POSTed to it; ``events`` are the payloads of its ``event`` items."""

    def __init__(self) -> None:
        self.port = free_port()
        self.envelopes: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def dsn(self, project: int = 1) -> str:
        return f"http://public@127.0.0.1:{self.port}/{project}"

    def start(self) -> SentryReceiver:
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                match = _ENVELOPE_PATH.match(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if match is None or encoding not in {"", "identity", "gzip"}:
                    self.answer(404 if match is None else 415, b"{}")
                    return
                raw = gzip.decompress(body) if encoding == "gzip" else body
                header, items = parse_envelope(raw)
                auth = self.headers.get("X-Sentry-Auth", "")
                envelope = {"project": match["project"], "auth": auth, "raw": raw, "header": header, "items": items}
                with receiver._lock:
                    receiver.envelopes.append(envelope)
                self.answer(200, json.dumps({"id": header.get("event_id")}).encode())

        self._server = serve(Handler, self.port)
        return self

    def stop(self) -> None:
        close(self._server)
        self._server = None

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event received so far, decoded."""
        with self._lock:
            envelopes = list(self.envelopes)
        return [json.loads(payload) for env in envelopes for head, payload in env["items"] if head["type"] == "event"]

    def wait_for_event(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 120.0, after: int = 0
    ) -> dict[str, Any]:
        """The first event ``match`` accepts among those after the first ``after``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[after:]:
                if match(event):
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching Sentry event in {timeout} s; received: {self.events!r}")
            time.sleep(0.2)


def exception_values(event: dict[str, Any]) -> list[str]:
    """``"<type>: <value>"`` of each exception in an event."""
    return [f"{e.get('type')}: {e.get('value')}" for e in event.get("exception", {}).get("values", [])]
