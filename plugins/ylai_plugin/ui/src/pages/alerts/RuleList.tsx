import { useState } from "react";
import { ylai, data } from "../../api/client";
import type { AlertRule } from "../../api/models";
import { qs } from "../../lib/api";
import { usePoll } from "../../lib/hooks";
import { useMe } from "../../lib/me";
import { Link, pagePath } from "../../lib/nav";
import { useI18n, type Key } from "../../i18n";
import { Card, ErrorBox } from "../../components/ui";
import { ListPage, type Column } from "../../components/DataTable";
import { SeverityBadge, channelName, describeCondition, describeScope } from "./common";

export function RuleList() {
  const i = useI18n();
  const { t } = i;
  const me = useMe();
  const list = usePoll((signal) => data(ylai.GET("/api/v1/alerts/rules", { params: { query: { limit: 500 } }, signal })), [], 15_000);
  const [error, setError] = useState<unknown>(null);
  const canEdit = me.can("alerts", "edit");
  const canDelete = me.can("alerts", "delete");
  const items = list.data?.items ?? [];

  const toggle = async (r: AlertRule) => {
    setError(null);
    try {
      await ylai.PATCH("/api/v1/alerts/rules/{rule_id}", { params: { path: { rule_id: r.id } }, body: { enabled: !r.enabled } });
      list.refresh();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (r: AlertRule) => {
    setError(null);
    if (!window.confirm(t("alerts.confirmDelete", { name: r.name }))) return;
    try {
      await ylai.DELETE("/api/v1/alerts/rules/{rule_id}", { params: { path: { rule_id: r.id } } });
      list.refresh();
    } catch (err) {
      setError(err);
    }
  };

  const columns: Column<AlertRule>[] = [
    {
      header: t("col.name"),
      cell: (r) => (
        <>
          <Link to={pagePath("alerts", qs({ rule: r.id }))} testId={`rule-${r.id}`}>
            {r.name}
          </Link>
          {r.source === "manifest" ? <div className="y-muted y-small">{t("alerts.fromManifest", { ref: r.source_ref ?? "" })}</div> : null}
          {!r.enabled ? <div className="y-small">{t("alerts.disabled")}</div> : null}
        </>
      ),
    },
    { header: t("alerts.when"), cell: (r) => describeCondition(i, r.condition) },
    { header: t("alerts.scope"), className: "y-small", cell: (r) => describeScope(t, r.scope) },
    {
      header: t("alerts.channels"),
      className: "y-small",
      cell: (r) =>
        r.channels.map((c, n) => (
          <div key={n}>
            {channelName(t, c.type)} <code>{c.target}</code> · {t(`alerts.lang.${c.language ?? "en"}` as Key)}
          </div>
        )),
    },
    { header: t("alerts.severity"), cell: (r) => <SeverityBadge severity={r.severity} /> },
    { header: t("alerts.firing"), cell: (r) => (r.firing ? <span className="y-tone-bad">{i.number(r.firing)}</span> : "0") },
    {
      header: null,
      className: "y-nowrap",
      cell: (r) => {
        const manifest = r.source === "manifest";
        return (
          <>
            <button type="button" className="y-btn y-btn-small" disabled={!canEdit} title={canEdit ? undefined : t("perm.noAlertEdit")} onClick={() => void toggle(r)} data-testid={`rule-toggle-${r.id}`}>
              {r.enabled ? t("alerts.disable") : t("alerts.enable")}
            </button>{" "}
            <Link to={pagePath("alerts", qs({ tab: "silences", silence_rule: r.id }))} className="y-btn y-btn-small">
              {t("alerts.silence")}
            </Link>{" "}
            <button
              type="button"
              className="y-btn y-btn-small y-btn-danger"
              disabled={!canDelete || manifest}
              title={!canDelete ? t("perm.noAlertDelete") : manifest ? t("alerts.manifestDelete") : undefined}
              onClick={() => void remove(r)}
              data-testid={`rule-delete-${r.id}`}
            >
              {t("common.delete")}
            </button>
          </>
        );
      },
    },
  ];

  return (
    <Card title={t("alerts.rules")} testId="rules">
      <ErrorBox error={error} />
      <ListPage
        list={list}
        rows={items}
        columns={columns}
        rowKey={(r) => r.id}
        testId="rules-table"
        rowProps={(r) => ({ testId: `rule-row-${r.id}`, className: r.enabled ? undefined : "y-muted" })}
        empty={t("alerts.noRules")}
        emptyTestId="rules-empty"
      />
    </Card>
  );
}
