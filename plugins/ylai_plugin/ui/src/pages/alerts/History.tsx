import { useState } from "react";
import { data, ylai } from "../../api/client";
import type { AlertEvent } from "../../api/models";
import { qs } from "../../lib/api";
import { SEVERITIES } from "../../lib/alertForm";
import { usePoll } from "../../lib/hooks";
import { Link, pagePath } from "../../lib/nav";
import { useI18n, type Key } from "../../i18n";
import { ExportButtons } from "../../components/ExportButtons";
import { Card } from "../../components/ui";
import { ListPage, type Column } from "../../components/DataTable";
import { AlertStateBadge, SeverityBadge, dagLink } from "./common";

export function History() {
  const i = useI18n();
  const { t } = i;
  const [state, setState] = useState("");
  const [severity, setSeverity] = useState("");
  const list = usePoll(
    (signal) => data(ylai.GET("/api/v1/alerts/events", { params: { query: { state: (state || undefined) as AlertEvent["state"] | undefined, severity: (severity || undefined) as AlertEvent["severity"] | undefined, limit: 200 } }, signal })),
    [state, severity],
    15_000,
  );
  const items = list.data?.items ?? [];
  const columns: Column<AlertEvent>[] = [
    { header: t("col.started"), className: "y-nowrap", cell: (a) => i.dateTime(a.started_at) },
    {
      header: t("alerts.alert"),
      cell: (a) => (
        <>
          <Link to={pagePath("alerts", qs({ alert: a.id }))} testId={`alert-${a.id}`}>
            {a.title}
          </Link>
          <div className="y-muted y-small">
            {a.rule_name}
            {a.suppressed ? ` · ${t(`alerts.suppressed.${a.suppressed}` as Key)}` : ""}
          </div>
        </>
      ),
    },
    { header: t("col.state"), cell: (a) => <AlertStateBadge state={a.state} /> },
    { header: t("alerts.severity"), cell: (a) => <SeverityBadge severity={a.severity} /> },
    { header: "DAG", className: "y-small", cell: (a) => (a.dag_id ? <Link to={dagLink(a.dag_id, a.run_id)}>{a.dag_id}</Link> : "—") },
    { header: t("alerts.resolvedAt"), className: "y-nowrap", cell: (a) => i.dateTime(a.resolved_at) },
  ];
  return (
    <Card title={t("alerts.history")} testId="history">
      <div className="y-row y-wrap y-filters">
        <select className="y-input" aria-label={t("col.state")} value={state} onChange={(e) => setState(e.target.value)} data-testid="history-state">
          <option value="">{t("alerts.allStates")}</option>
          <option value="firing">{t("alerts.state.firing")}</option>
          <option value="resolved">{t("alerts.state.resolved")}</option>
        </select>
        <select className="y-input" aria-label={t("alerts.severity")} value={severity} onChange={(e) => setSeverity(e.target.value)} data-testid="history-severity">
          <option value="">{t("alerts.allSeverities")}</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {t(`alerts.severity.${s}` as Key)}
            </option>
          ))}
        </select>
        <div className="y-push">
          <ExportButtons kind="alerts" filters={state ? { state: [state] } : {}} testId="export-alerts" />
        </div>
      </div>
      <ListPage list={list} rows={items} columns={columns} rowKey={(a) => a.id} testId="history-table" empty={t("alerts.noHistory")} emptyTestId="history-empty" />
    </Card>
  );
}
