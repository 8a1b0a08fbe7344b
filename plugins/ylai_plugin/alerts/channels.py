"""Send a rendered message: Slack (slack provider), e-mail (smtp provider) or a JSON webhook.

Each ``send_*`` raises on failure; the outbox (``engine.deliver``) records the error and retries,
through the circuit breaker :func:`breaker_name` names.
Provider modules are imported inside the functions: DAG files import nothing from here.
"""

from __future__ import annotations

from typing import Any

from ylai_plugin import config, tracing
from ylai_plugin.alerts.messages import Message

TIMEOUT_SECONDS = 10


def send_slack(target: str, connection_id: str | None, message: Message) -> None:
    """Post to ``target`` (``#channel``) through an Airflow Slack connection.

    A ``slack`` connection (API token; ``base_url`` extra for Slack-compatible servers) posts with
    ``chat.postMessage`` to the channel; a ``slackwebhook`` connection posts to its incoming webhook,
    whose channel Slack fixed when the webhook was created.
    """
    from airflow.sdk import BaseHook

    conn_id = connection_id or config.ALERT_SLACK_CONN_ID.get()
    conn = BaseHook.get_connection(conn_id)
    if conn.conn_type == "slackwebhook":
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        webhook = SlackWebhookHook(slack_webhook_conn_id=conn_id, timeout=TIMEOUT_SECONDS)
        # slack_sdk calls through urllib, which no instrumentation covers: a client span by hand.
        with tracing.span("slack.webhook", kind="client", attributes={"ylai.connection_id": conn_id}):
            response = webhook.send(text=message.title, blocks=message.blocks)
        if getattr(response, "status_code", 200) >= 300:
            raise RuntimeError(f"Slack webhook answered {response.status_code}: {getattr(response, 'body', '')}")
        return
    from airflow.providers.slack.hooks.slack import SlackHook

    hook = SlackHook(slack_conn_id=conn_id, timeout=TIMEOUT_SECONDS)
    with tracing.span("slack.chat.postMessage", kind="client", attributes={"ylai.connection_id": conn_id}):
        hook.client.chat_postMessage(channel=target, text=message.title, blocks=message.blocks)


def send_email(target: str, connection_id: str | None, message: Message) -> None:
    """E-mail ``target`` an HTML + plain-text message through the smtp provider's ``SmtpHook``.

    ``SmtpNotifier`` / ``send_email_smtp`` send HTML only, so the multipart/alternative message is
    built here and handed to the hook's connected client (TLS, SSL, auth and timeouts from the connection).
    """
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from email.utils import formatdate, make_msgid

    from airflow.providers.smtp.hooks.smtp import SmtpHook

    conn_id = connection_id or config.ALERT_SMTP_CONN_ID.get()
    # smtplib has no instrumentation: one client span around connecting and sending.
    with (
        tracing.span("smtp.send", kind="client", attributes={"ylai.connection_id": conn_id}) as span,
        SmtpHook(smtp_conn_id=conn_id) as hook,
    ):
        tracing.set_attributes(span, **{"server.address": hook.host, "server.port": hook.port})
        sender = config.ALERT_FROM_EMAIL.get() or hook.from_email or "ylai@localhost"
        mime = MIMEMultipart("alternative")
        mime["Subject"] = message.title
        mime["From"] = sender
        mime["To"] = target
        mime["Date"] = formatdate(localtime=False)
        mime["Message-ID"] = make_msgid(domain="ylai")
        mime.attach(MIMEText(message.text, "plain", "utf-8"))
        mime.attach(MIMEText(message.html, "html", "utf-8"))
        client: Any = hook._smtp_client  # the hook exposes no "send this MIME message" method
        if client is None:
            raise RuntimeError(f"SMTP connection {conn_id!r} did not connect")
        client.sendmail(sender, [target], mime.as_string())


def send_webhook(target: str, connection_id: str | None, message: Message) -> None:
    """POST the message as JSON to ``target``; any non-2xx answer is a failure.

    With a connection (an ``http`` connection, as Airflow's HTTP provider defines it), ``target``
    may be a path below the connection's base URL, and the request carries the connection's
    credentials: ``extra.headers``, else a login and password as basic auth, else the password
    as a bearer token. Secrets stay in the connection, not in the rule.
    """
    import httpx

    url: str = target
    headers: dict[str, str] = {}
    auth: tuple[str, str] | None = None
    if connection_id:
        url, headers, auth = _webhook_connection(target, connection_id)
    response = httpx.post(url, json=message.payload, headers=headers, auth=auth, timeout=TIMEOUT_SECONDS)
    if response.status_code >= 300:
        raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:200]}")


def _webhook_connection(target: str, connection_id: str) -> tuple[str, dict[str, str], tuple[str, str] | None]:
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(connection_id)
    url = target
    if not target.startswith(("http://", "https://")):
        host = (conn.host or "").rstrip("/")
        if not host:
            raise ValueError(f"connection {connection_id!r} has no host for the webhook path {target!r}")
        if "://" not in host:
            scheme = conn.schema if conn.schema in ("http", "https") else "https"
            host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
        url = host + "/" + target.lstrip("/")
    extra = conn.extra_dejson
    headers = {str(k): str(v) for k, v in (extra.get("headers") or {}).items()}
    auth = None
    if conn.password and conn.login:
        auth = (conn.login, conn.password)
    elif conn.password and "Authorization" not in headers:
        headers["Authorization"] = f"Bearer {conn.password}"
    return url, headers, auth


def breaker_name(channel_type: str, target: str, connection_id: str | None) -> str:
    """The circuit breaker of the dependency a delivery goes to: its connection, else the webhook's host.

    One breaker per receiving server, not per Slack channel or mail address: when Slack or the
    SMTP server is down, every target behind that connection is down.
    """
    if channel_type == "slack":
        return f"slack:{connection_id or config.ALERT_SLACK_CONN_ID.get()}"
    if channel_type == "email":
        return f"email:{connection_id or config.ALERT_SMTP_CONN_ID.get()}"
    if connection_id:
        return f"{channel_type}:{connection_id}"
    from urllib.parse import urlsplit

    return f"{channel_type}:{urlsplit(target).netloc or target}"[:250]


def send(channel_type: str, target: str, connection_id: str | None, message: Message) -> None:
    """Send ``message`` through one channel."""
    if channel_type == "slack":
        send_slack(target, connection_id, message)
    elif channel_type == "email":
        send_email(target, connection_id, message)
    elif channel_type == "webhook":
        send_webhook(target, connection_id, message)
    else:
        raise ValueError(f"unknown channel type {channel_type!r}")
