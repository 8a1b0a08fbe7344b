"""ReportOperator: fetch a report from ylai's API and deliver it by e-mail and/or Slack.

Tasks cannot read Airflow's metadata database in Airflow 3 (the task runner blocks the ORM),
so the report is made by the api-server, through the same ``/ylai/api/v1/exports`` endpoints
users download from, with the permissions of the API connection's user.
"""

from __future__ import annotations

import html
import tempfile
import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from ylai_operators.report_spec import period_bounds

SUBJECTS = {"en": "ylai {title}: {since} – {until}", "zh-CN": "ylai {title}：{since} – {until}"}  # noqa: RUF001
DOWNLOAD = {"en": "Download the report", "zh-CN": "下载报告"}
ATTACHED = {"en": "The report is attached.", "zh-CN": "报告见附件。"}


class ReportApi:
    """A small client of ylai's export API, configured by an HTTP connection."""

    def __init__(self, conn_id: str) -> None:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
        extra = conn.extra_dejson
        if extra.get("base_url"):
            self.base = str(extra["base_url"]).rstrip("/")
        else:
            host = conn.host or "localhost"
            if "://" in host:
                self.base = host.rstrip("/")
            else:
                scheme = "https" if conn.conn_type == "https" or extra.get("https") else "http"
                self.base = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
        self.login, self.password = conn.login, conn.password
        self.timeout = float(extra.get("timeout", 300))
        self._token: str | None = None

    def token(self) -> str:
        """A bearer token: from ``POST /auth/token`` with login and password, else the password itself."""
        import httpx

        if self._token is None:
            if self.login:
                resp = httpx.post(
                    f"{self.base}/auth/token",
                    json={"username": self.login, "password": self.password},
                    timeout=self.timeout,
                )
                resp.raise_for_status()
                self._token = str(resp.json()["access_token"])
            elif self.password:
                self._token = self.password
            else:
                raise ValueError("the ylai API connection needs a login and password, or a token as password")
        return self._token

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """An absolute URL under ``/ylai/api/v1``."""
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        return f"{self.base}/ylai/api/v1{path}{query}"

    def get(self, path: str, params: dict[str, Any], dest: Path | None = None) -> Any:
        """GET; stream the body into ``dest`` or return the JSON."""
        import httpx

        headers = {"Authorization": f"Bearer {self.token()}", **trace_headers()}
        if dest is None:
            resp = httpx.get(self.url(path), params=params, headers=headers, timeout=self.timeout)
            _raise(resp)
            return resp.json()
        with httpx.stream("GET", self.url(path), params=params, headers=headers, timeout=self.timeout) as resp:
            if resp.status_code >= 400:
                resp.read()
                _raise(resp)
            with dest.open("wb") as out:
                for chunk in resp.iter_bytes():
                    out.write(chunk)
            disposition = resp.headers.get("content-disposition", "")
        return disposition.split('filename="')[-1].rstrip('"') if 'filename="' in disposition else None


def trace_headers() -> dict[str, str]:
    """``traceparent`` (W3C) of the current span, so that ylai's server span of the export joins the task's trace.

    Empty when no span is current (tracing off: Airflow's ``[traces] otel_on``).
    """
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier


def _raise(resp: Any) -> None:
    if resp.status_code >= 400:
        raise RuntimeError(f"ylai API answered {resp.status_code} for {resp.request.url}: {resp.text[:1000]}")


class ReportOperator(BaseOperator):
    """Make a ylai report for the period before the run and deliver it.

    :param kind: runs, tasks, scripts, audit, monitor or alerts. (templated)
    :param format: csv, xlsx or pdf. (templated)
    :param language: en or zh-CN. (templated)
    :param period: previous_day, previous_week, previous_month, last_24h, last_7d or last_30d,
        relative to the run's data interval end. (templated)
    :param filters: dag_id, script, state, user, as for the export API. (templated)
    :param api_conn_id: HTTP connection to the api-server (login/password, or a token as password).
    :param email_conn_id: SMTP connection; with ``email_to``, the report is e-mailed as an attachment.
    :param email_to: recipients. (templated)
    :param slack_conn_id: a ``slackwebhook`` connection (summary and a download link) or a ``slack``
        API connection (the file is uploaded to ``slack_channel`` too).
    :param slack_channel: the channel for uploads. (templated)
    :param report_name: a name for subjects and messages.
    :return: what was made and where it went: ``file_name``, ``size_bytes``, ``rows``, ``since``,
        ``until`` and ``delivered`` (a list of ``email:<address>`` / ``slack:<conn_id>``).
    """

    template_fields: Sequence[str] = ("kind", "format", "language", "period", "filters", "email_to", "slack_channel")
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        kind: str,
        format: str = "pdf",
        language: str = "en",
        period: str = "previous_day",
        filters: dict[str, Any] | None = None,
        api_conn_id: str = "ylai_api",
        email_conn_id: str | None = None,
        email_to: list[str] | str | None = None,
        slack_conn_id: str | None = None,
        slack_channel: str | None = None,
        report_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.format = format
        self.language = language
        self.period = period
        self.filters = filters or {}
        self.api_conn_id = api_conn_id
        self.email_conn_id = email_conn_id
        self.email_to = email_to
        self.slack_conn_id = slack_conn_id
        self.slack_channel = slack_channel
        self.report_name = report_name

    def _end(self, context: Any) -> datetime:
        for key in ("data_interval_end", "logical_date"):
            value = context.get(key)
            if value is not None:
                return datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
        return datetime.now(UTC)

    def execute(self, context: Any) -> dict[str, Any]:
        """Fetch the summary and the file, then send them, in a ``ylai.report <kind>`` span.

        The span nests under the task's span (Airflow's ``[traces] otel_on``); a non-recording
        no-op when tracing is off.
        """
        from opentelemetry import trace

        tracer = trace.get_tracer("ylai.report")
        with tracer.start_as_current_span(f"ylai.report {self.kind}") as span:
            result = self._make_and_send(context)
            if span.is_recording():
                span.set_attributes(
                    {
                        "ylai.report.name": self.report_name or "",
                        "ylai.report.kind": self.kind,
                        "ylai.report.format": self.format,
                        "ylai.report.rows": result["rows"],
                        "ylai.report.size_bytes": result["size_bytes"],
                        "ylai.report.delivered": result["delivered"],
                    }
                )
            return result

    def _make_and_send(self, context: Any) -> dict[str, Any]:
        """Fetch the summary and the file, then send them."""
        since, until = period_bounds(self.period, self._end(context))
        params: dict[str, Any] = {
            **{k: v for k, v in self.filters.items() if v not in (None, [], "")},
            "since": since.isoformat(),
            "until": until.isoformat(),
            "language": self.language,
        }
        api = ReportApi(self.api_conn_id)
        summary = api.get(f"/exports/{self.kind}/summary", params)
        file_params = {**params, "format": self.format}
        link = api.url(f"/exports/{self.kind}", file_params)
        delivered: list[str] = []
        with tempfile.TemporaryDirectory(prefix="ylai-report-") as tmp:
            path = Path(tmp) / f"report.{self.format}"
            name = api.get(f"/exports/{self.kind}", file_params, dest=path) or path.name
            final = path.with_name(name)
            path.rename(final)
            self.log.info("report %s: %s rows, %s bytes", name, summary["rows"], final.stat().st_size)
            subject = SUBJECTS.get(self.language, SUBJECTS["en"]).format(
                title=summary["title"], since=f"{since:%Y-%m-%d %H:%M}", until=f"{until:%Y-%m-%d %H:%M} UTC"
            )
            if self.email_conn_id and self.email_to:
                recipients = [self.email_to] if isinstance(self.email_to, str) else list(self.email_to)
                self._email(subject, summary, final, link, recipients)
                delivered += [f"email:{r}" for r in recipients]
            if self.slack_conn_id:
                self._slack(subject, summary, final, link)
                delivered.append(f"slack:{self.slack_conn_id}")
            size = final.stat().st_size
        if not delivered:
            self.log.warning("report made but not delivered: no e-mail or Slack target configured")
        return {
            "file_name": name,
            "size_bytes": size,
            "rows": summary["rows"],
            "since": since.isoformat(),
            "until": until.isoformat(),
            "delivered": delivered,
        }

    def _email(self, subject: str, summary: dict[str, Any], path: Path, link: str, to: list[str]) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        body = [f"<h2>{html.escape(subject)}</h2>"]
        for table in summary["tables"][:3]:
            body.append(f"<h3>{html.escape(table['title'])}</h3><table border='1' cellpadding='4' cellspacing='0'>")
            body.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in table["headers"]) + "</tr>")
            for row in table["rows"][:20]:
                body.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>")
            body.append("</table>")
        body.append(f"<p>{ATTACHED.get(self.language, ATTACHED['en'])} <a href='{html.escape(link)}'>")
        body.append(f"{DOWNLOAD.get(self.language, DOWNLOAD['en'])}</a></p>")
        assert self.email_conn_id is not None
        with SmtpHook(smtp_conn_id=self.email_conn_id) as hook:
            hook.send_email_smtp(
                to=to,
                subject=subject,
                html_content="\n".join(body),
                files=[str(path)],
                from_email=hook.from_email or "ylai@localhost",
            )

    def _slack(self, subject: str, summary: dict[str, Any], path: Path, link: str) -> None:
        from airflow.sdk import BaseHook

        assert self.slack_conn_id is not None
        overview = summary["tables"][0]["rows"] if summary["tables"] else []
        lines = "\n".join(f"• {_fmt(k)}: {_fmt(v)}" for k, v, *_ in overview)
        text = f"*{subject}*\n{lines}\n<{link}|{DOWNLOAD.get(self.language, DOWNLOAD['en'])}>"
        conn = BaseHook.get_connection(self.slack_conn_id)
        if conn.conn_type == "slack":
            from airflow.providers.slack.hooks.slack import SlackHook

            SlackHook(slack_conn_id=self.slack_conn_id).send_file_v1_to_v2(
                channels=self.slack_channel, file=str(path), initial_comment=text, title=path.name
            )
            return
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        SlackWebhookHook(slack_webhook_conn_id=self.slack_conn_id).send(
            text=text,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        )


def _fmt(value: Any) -> str:
    if value is None:
        return "–"  # noqa: RUF001
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
