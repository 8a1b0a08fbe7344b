import { describe, expect, it } from "vitest";
import { makeI18n } from "../i18n";
import { CONDITION_TYPES, checkRule, conditionBody, emptyRule, formFromRule, formKey, newCondition, ruleBody, ruleNames } from "./alertForm";
import en from "../i18n/en.json";
import zh from "../i18n/zh-CN.json";
import type { AlertRule, AlertRuleBody } from "../api/models";

const { t } = makeI18n("en");

describe("alert conditions from the API's registry", () => {
  it("offers every AlertConditionType, each with its label and help in both languages and a valid default body", () => {
    expect(CONDITION_TYPES).toEqual(["run_failed", "task_failed", "failure_rate", "duration", "queue_wait", "worker_heartbeat", "deadline"]);
    for (const type of CONDITION_TYPES) {
      for (const dict of [en, zh] as Record<string, string>[]) {
        expect(dict[`alerts.cond.${type}`], `alerts.cond.${type}`).toBeTruthy();
        expect(dict[`alerts.condHelp.${type}`], `alerts.condHelp.${type}`).toBeTruthy();
      }
      expect(conditionBody(newCondition(type)).type).toBe(type);
    }
  });
});

describe("alert rule form", () => {
  it("builds one API body per condition: nightly fails or runs twice as long, to Slack", () => {
    const f = { ...emptyRule(), name: "nightly", scope_all: false, tags: "nightly, etl", conditions: [newCondition("run_failed"), newCondition("duration")] };
    f.channels = [{ type: "slack" as const, target: "#data-alerts", connection_id: "", language: "zh-CN" as const }];
    expect(checkRule(f, t)).toEqual({});
    const names = ruleNames(f, (type) => type);
    expect(names).toEqual(["nightly · run_failed", "nightly · duration"]);
    expect(ruleBody(f, 0, names[0])).toEqual({
      name: "nightly · run_failed",
      description: "",
      enabled: true,
      severity: "warning",
      scope: { dag_ids: [], scripts: [], pipelines: [], tags: ["nightly", "etl"] },
      condition: { type: "run_failed" },
      channels: [{ type: "slack", target: "#data-alerts", connection_id: null, language: "zh-CN" }],
      rate_limit: null,
      escalation: null,
    });
    expect(ruleBody(f, 1, names[1]).condition).toEqual({ type: "duration", p95_factor: 2, last_n_runs: 20, min_runs: 3 });
  });

  it("checks fields like the server does", () => {
    const f = { ...emptyRule(), scope_all: false, conditions: [{ ...newCondition("duration"), p95_factor: "0" }, { ...newCondition("deadline"), time: "25:00" }] };
    f.channels = [{ type: "email" as const, target: "not-an-address", connection_id: "", language: "en" as const }];
    f.esc_on = true;
    f.after_minutes = "";
    expect(checkRule(f, t)).toEqual({
      name: "Required",
      scope: "Give at least one tag, pipeline, script or DAG id.",
      "conditions.0.p95_factor": "Must be greater than 0",
      "conditions.1.time": "Expected HH:MM, 00:00 to 23:59",
      "channels.0.target": "Must be an e-mail address",
      "escalation.after_minutes": "Required",
    });
  });

  it("maps the server's field paths to the form's", () => {
    expect(formKey("body.condition.duration.p95_factor", 1)).toBe("conditions.1.p95_factor");
    expect(formKey("body.condition.duration", 0)).toBe("conditions.0");
    expect(formKey("body.channels.0", 0)).toBe("channels.0.target");
    expect(formKey("body.channels.2.language", 0)).toBe("channels.2.language");
    expect(formKey("body.escalation.channels.0.target", 0)).toBe("escalation.channels.0.target");
    expect(formKey("body.scope.tags.0", 0)).toBe("scope");
    expect(formKey("body.name", 0)).toBe("name");
    expect(formKey("body.rate_limit.max_alerts", 0)).toBe("rate_limit.max_alerts");
  });

  it("loads a stored rule back into the form", () => {
    // The rule's body: what the form must give back for it.
    const body: AlertRuleBody = {
      name: "slow",
      description: "",
      enabled: false,
      severity: "critical",
      scope: { dag_ids: [], scripts: ["disk_usage"], pipelines: [], tags: [] },
      condition: { type: "duration", max_seconds: 90 },
      channels: [{ type: "webhook", target: "https://x.test/h", connection_id: null, language: "en" }],
      rate_limit: { max_alerts: 2, per_minutes: 30 },
      escalation: { after_minutes: 15, channels: null, repeat: true },
    };
    const rule: AlertRule = {
      ...body,
      id: 3,
      source: "api",
      source_ref: null,
      created_by: "a",
      created_at: "",
      updated_at: "",
      firing: 0,
    };
    const f = formFromRule(rule);
    expect(f.scope_all).toBe(false);
    expect(f.conditions[0].duration_mode).toBe("absolute");
    expect(ruleBody(f, 0, f.name)).toEqual(body);
  });
});
