import { useNav, Link, pagePath } from "../../lib/nav";
import { useMe } from "../../lib/me";
import { useI18n, type Key } from "../../i18n";
import { DisabledNote, PageHeader, PermittedLink } from "../../components/ui";
import { AlertView } from "./AlertView";
import { History } from "./History";
import { RuleEditor } from "./RuleEditor";
import { RuleList } from "./RuleList";
import { Silences } from "./Silences";

// The Alerts page: its rules, silences and history tabs, a rule's editor and one alert's detail, one file each.

type Tab = "rules" | "silences" | "history";
const TABS: Tab[] = ["rules", "silences", "history"];

export function Alerts() {
  const nav = useNav();
  if (nav.search.get("new")) return <RuleEditor />;
  const rule = nav.search.get("rule");
  if (rule) return <RuleEditor id={Number(rule)} />;
  const alert = nav.search.get("alert");
  if (alert) return <AlertView id={Number(alert)} />;
  const tab = (nav.search.get("tab") as Tab | null) ?? "rules";
  return <AlertsHome tab={TABS.includes(tab) ? tab : "rules"} />;
}

function AlertsHome({ tab }: { tab: Tab }) {
  const { t } = useI18n();
  const me = useMe();
  const canCreate = me.can("alerts", "create");
  return (
    <div data-testid="page-alerts">
      <PageHeader
        title={t("alerts.title")}
        subtitle={t("alerts.subtitle")}
        actions={
          <PermittedLink allowed={canCreate} to={pagePath("alerts", "?new=1")} className="y-btn y-btn-primary" testId="rule-new" reason={t("perm.noAlertCreate")}>
            {t("alerts.newRule")}
          </PermittedLink>
        }
      />
      <DisabledNote show={me.loaded && !canCreate} text={t("perm.noAlertCreate")} testId="alerts-permission" />
      <div className="y-seg y-filters" role="tablist" aria-label={t("alerts.sections")}>
        {TABS.map((x) => (
          <Link key={x} to={pagePath("alerts", `?tab=${x}`)} className={x === tab ? "y-btn y-btn-on" : "y-btn"} testId={`alerts-tab-${x}`}>
            {t(`alerts.tab.${x}` as Key)}
          </Link>
        ))}
      </div>
      {tab === "rules" ? <RuleList /> : null}
      {tab === "silences" ? <Silences /> : null}
      {tab === "history" ? <History /> : null}
    </div>
  );
}
