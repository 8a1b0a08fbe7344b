import { data, ylai } from "../../api/client";
import { qs } from "../../lib/api";
import { usePoll } from "../../lib/hooks";
import { Link, pagePath } from "../../lib/nav";
import { useI18n, type Key } from "../../i18n";
import { Card, Empty, ErrorBox, Json, Loading, PageHeader } from "../../components/ui";
import { DataTable } from "../../components/DataTable";
import { AlertStateBadge, SeverityBadge, channelName, condLabel, dagLink } from "./common";

export function AlertView({ id }: { id: number }) {
  const i = useI18n();
  const { t } = i;
  const detail = usePoll((signal) => data(ylai.GET("/api/v1/alerts/events/{alert_id}", { params: { path: { alert_id: id } }, signal })), [id], 10_000);
  const a = detail.data;
  return (
    <div data-testid="page-alerts">
      <PageHeader
        title={a?.title ?? t("alerts.alert")}
        actions={
          <Link to={pagePath("alerts", "?tab=history")} className="y-btn">
            {t("common.back")}
          </Link>
        }
      />
      <ErrorBox error={detail.error} />
      {!a && !detail.error ? <Loading /> : null}
      {a ? (
        <div className="y-split" data-testid="alert-detail">
          <div className="y-col">
            <Card title={t("alerts.alert")}>
              <dl className="y-dl">
                <dt>{t("alerts.rule")}</dt>
                <dd>{a.rule_id ? <Link to={pagePath("alerts", qs({ rule: a.rule_id }))}>{a.rule_name}</Link> : a.rule_name}</dd>
                <dt>{t("col.state")}</dt>
                <dd>
                  <AlertStateBadge state={a.state} /> {a.suppressed ? t(`alerts.suppressed.${a.suppressed}` as Key) : null}
                </dd>
                <dt>{t("alerts.severity")}</dt>
                <dd>
                  <SeverityBadge severity={a.severity} />
                </dd>
                <dt>{t("alerts.when")}</dt>
                <dd>{condLabel(t, a.condition_type)}</dd>
                <dt>{t("col.started")}</dt>
                <dd>{i.dateTime(a.started_at)}</dd>
                <dt>{t("alerts.resolvedAt")}</dt>
                <dd>{i.dateTime(a.resolved_at)}</dd>
                <dt>{t("alerts.escalationLevel")}</dt>
                <dd>{a.escalation_level}</dd>
                <dt>{t("alerts.occurrences")}</dt>
                <dd data-testid="alert-occurrences">
                  {a.occurrences}
                  {a.last_failure_at && a.occurrences > 1 ? ` · ${t("alerts.lastFailure")} ${i.dateTime(a.last_failure_at)}` : null}
                </dd>
                {a.dag_id ? (
                  <>
                    <dt>DAG</dt>
                    <dd>
                      <Link to={dagLink(a.dag_id, a.run_id)}>{a.run_id ? `${a.dag_id} / ${a.run_id}` : a.dag_id}</Link>
                      {a.run_id ? (
                        <>
                          {" · "}
                          <Link to={pagePath("run", qs({ dag_id: a.dag_id, run_id: a.run_id }))} testId="alert-logs">
                            {t("overview.logs")}
                          </Link>
                        </>
                      ) : null}
                    </dd>
                  </>
                ) : null}
              </dl>
              {a.summary ? (
                <>
                  <h3 className="y-card-title">{t("alerts.message")}</h3>
                  <pre className="y-json" data-testid="alert-summary">
                    {a.summary}
                  </pre>
                </>
              ) : null}
              <details className="y-details">
                <summary>{t("alerts.details")}</summary>
                <Json value={a.details} />
              </details>
            </Card>
          </div>
          <div className="y-col">
            <Card title={t("alerts.deliveries")} testId="deliveries">
              {!a.deliveries.length ? <Empty>{a.suppressed ? t("alerts.noDeliveriesSuppressed") : t("alerts.noDeliveries")}</Empty> : null}
              {a.deliveries.map((d) => (
                <div key={d.id} className="y-delivery" data-testid={`delivery-${d.id}`} data-status={d.status}>
                  <div className="y-row y-wrap">
                    <strong>{t(`alerts.kind.${d.kind}` as Key)}</strong>
                    <span>
                      {channelName(t, d.channel_type)} <code>{d.target}</code> · {t(`alerts.lang.${d.language === "zh-CN" ? "zh-CN" : "en"}` as Key)}
                    </span>
                    <span className={`y-badge y-tone-${d.status === "sent" ? "ok" : "warn"}`}>{t(`alerts.delivery.${d.status}` as Key)}</span>
                  </div>
                  <div className="y-small y-muted">
                    {d.sent_at ? t("alerts.sentAt", { time: i.dateTime(d.sent_at) }) : d.next_attempt_at ? t("alerts.nextAttempt", { time: i.dateTime(d.next_attempt_at) }) : null}
                    {d.last_error ? ` · ${d.last_error}` : ""}
                  </div>
                  {d.attempt_log.length ? (
                    <DataTable
                      compact
                      rows={d.attempt_log}
                      rowKey={(_, n) => n}
                      columns={[
                        { header: t("alerts.attempt"), className: "y-nowrap", cell: (x) => i.dateTime(x.attempted_at) },
                        { header: t("alerts.result"), cell: (x) => (x.ok ? <span className="y-tone-ok">{t("alerts.ok")}</span> : <span className="y-tone-bad">{x.error ?? t("alerts.failedAttempt")}</span>) },
                        { header: t("col.duration"), cell: (x) => i.duration(x.duration_ms / 1000) },
                        { header: t("alerts.worker"), className: "y-small", cell: (x) => x.worker },
                      ]}
                    />
                  ) : null}
                </div>
              ))}
            </Card>
          </div>
        </div>
      ) : null}
    </div>
  );
}

