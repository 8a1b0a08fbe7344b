import { useEffect, useState } from "react";
import { ParamForm, problemText } from "../../components/ParamForm";
import { FieldError } from "../../components/ui";
import { useI18n } from "../../i18n";
import { useStudioText } from "./i18n";
import { mainType, validateParams, type Schema } from "../../lib/schema";
import { compatibleOutputs, compatibleParams, isBinding, isParamRef, nodeIdProblem, splitBinding, type NodeSpec, type ParamValue, type PipelineSpec, type Problem, type ScriptInfo } from "../../lib/pipeline";
import type { NodeResources } from "../../lib/pipeline/types";

export interface InspectorProps {
  spec: PipelineSpec;
  nodeId: string;
  scripts: Map<string, ScriptInfo>;
  problems: Problem[];
  readOnly: boolean;
  upstream: Set<string>;
  onParam: (param: string, value: ParamValue | undefined) => void;
  onNode: (patch: Partial<NodeSpec>) => void;
  onRename: (newId: string) => void;
  onAfter: (other: string, on: boolean) => void;
  onDelete: () => void;
}

/** The value a param gets when the user switches it to "a literal". */
function emptyLiteral(schema: Schema): ParamValue {
  if (schema.default !== undefined) return schema.default as ParamValue;
  switch (mainType(schema)) {
    case "integer":
    case "number":
      return 0;
    case "boolean":
      return false;
    case "array":
      return [];
    case "object":
      return {};
    default:
      return "";
  }
}

function sourceOf(value: ParamValue | undefined): string {
  if (value === undefined) return "";
  if (isBinding(value)) return `from:${value.from}`;
  if (isParamRef(value)) return `param:${value.param}`;
  return "literal";
}

/** ``resources`` with ``field`` set (or removed when ``value`` is undefined); undefined when nothing is left. */
function withResource<K extends keyof NodeResources>(resources: NodeResources | null | undefined, field: K, value: NodeResources[K] | undefined): NodeResources | undefined {
  const next: NodeResources = { ...(resources ?? {}) };
  if (value === undefined) delete next[field];
  else next[field] = value;
  return Object.keys(next).length ? next : undefined;
}

/** The selected node: its id, each param (literal, pipeline param or upstream output), retries, timeout, resources, order. */
export function Inspector({ spec, nodeId, scripts, problems, readOnly, upstream, onParam, onNode, onRename, onAfter, onDelete }: InspectorProps) {
  const { t } = useI18n();
  const st = useStudioText();
  const node = spec.nodes[nodeId];
  const script = scripts.get(node.script);
  const [idText, setIdText] = useState(nodeId);
  useEffect(() => setIdText(nodeId), [nodeId]);
  const idProblem = idText !== nodeId ? nodeIdProblem(spec, idText, nodeId) : null;
  const mine = problems.filter((p) => p.node === nodeId);
  const fieldProblem = (field: string) =>
    mine
      .filter((p) => p.field === field || p.field.startsWith(`${field}.`))
      .map((p) => p.reason)
      .join("; ") || null;
  const props = Object.entries(script?.params_schema.properties ?? {});
  const required = new Set(script?.params_schema.required ?? []);
  const scriptsRec = Object.fromEntries(scripts);
  const commitId = () => {
    if (idText !== nodeId && !idProblem) onRename(idText);
  };
  const others = Object.keys(spec.nodes).filter((id) => id !== nodeId);
  const known = new Set(["script", "retries", "timeout", "resources", "depends_on", "id"]);
  const setResource = <K extends keyof NodeResources>(field: K, value: NodeResources[K] | undefined) => onNode({ resources: withResource(node.resources, field, value) });
  const otherProblems = mine.filter((p) => !p.field.startsWith("params.") && !known.has(p.field.split(".")[0]));

  return (
    <div data-testid="inspector" data-node={nodeId}>
      <h2 className="y-card-title">{st("node")}</h2>
      <div className="y-field">
        <label className="y-label" htmlFor="y-node-id">
          {st("nodeId")}
        </label>
        <input
          id="y-node-id"
          className="y-input"
          value={idText}
          disabled={readOnly}
          aria-invalid={!!idProblem}
          onChange={(e) => setIdText(e.target.value)}
          onBlur={commitId}
          onKeyDown={(e) => e.key === "Enter" && commitId()}
          data-testid="inspector-id"
        />
        <FieldError text={idProblem} testId="inspector-id-error" />
      </div>
      <div className="y-small y-muted" data-testid="inspector-script">
        {st("script")}: <code>{node.script}</code> {script ? script.title : <span className="y-tone-bad">{st("unknownScript")}</span>}
      </div>
      <FieldError text={fieldProblem("script")} />
      {otherProblems.map((p, i) => (
        <FieldError key={i} text={`${p.field}: ${p.reason}`} />
      ))}

      <h3 className="y-card-title">{st("params")}</h3>
      {props.length === 0 ? <p className="y-muted">{t("form.noParams")}</p> : null}
      {props.map(([name, prop]) => {
        const value = node.params?.[name];
        const source = sourceOf(value);
        // Only what fits: outputs of nodes upstream-able without a cycle, of a type the param takes.
        const feeds = compatibleOutputs(spec, scriptsRec, nodeId, name).map((o) => ({ key: `${o.node}.${o.output}`, type: o.type }));
        const params = compatibleParams(spec, scriptsRec, nodeId, name).map((p) => p.name);
        // A current binding stays listed even if it no longer fits (the problem says why).
        if (isBinding(value) && !feeds.some((f) => f.key === value.from)) feeds.push({ key: value.from, type: "?" });
        if (isParamRef(value) && !params.includes(value.param)) params.push(value.param);
        const oneSchema: Schema = { type: "object", properties: { [name]: prop }, required: required.has(name) ? [name] : [] };
        const clientProblem = source === "literal" ? validateParams(oneSchema, { [name]: value })[name] : undefined;
        const serverProblem = fieldProblem(`params.${name}`);
        return (
          <div key={name} className="y-bind" data-testid={`inspector-param-${name}`} data-source={source || "default"}>
            <label className="y-label" htmlFor={`y-bind-${name}`}>
              {prop.title ?? name}
              {required.has(name) && prop.default === undefined ? <span className="y-required"> *</span> : null}
              <span className="y-muted y-small"> {mainType(prop) ?? ""}</span>
            </label>
            <select
              id={`y-bind-${name}`}
              className="y-input"
              value={source}
              disabled={readOnly}
              data-testid={`binding-${name}`}
              onChange={(e) => {
                const v = e.target.value;
                if (v === "") onParam(name, undefined);
                else if (v === "literal") onParam(name, emptyLiteral(prop));
                else if (v.startsWith("param:")) onParam(name, { param: v.slice(6) });
                else onParam(name, { from: v.slice(5) });
              }}
            >
              <option value="">{prop.default !== undefined ? st("bindDefault") : st("bindNone")}</option>
              <option value="literal">{st("bindLiteral")}</option>
              {params.length ? (
                <optgroup label={st("bindParams")}>
                  {params.map((p) => (
                    <option key={p} value={`param:${p}`}>
                      {st("bindParam", { name: p })}
                    </option>
                  ))}
                </optgroup>
              ) : null}
              {feeds.length ? (
                <optgroup label={st("bindOutputs")}>
                  {feeds.map((f) => (
                    <option key={f.key} value={`from:${f.key}`}>
                      {f.key} ({f.type})
                    </option>
                  ))}
                </optgroup>
              ) : null}
            </select>
            {source === "literal" ? (
              <ParamForm
                schema={{ ...oneSchema, properties: { [name]: { ...prop, title: undefined, description: undefined } } }}
                values={{ [name]: value }}
                idPrefix={`n-${nodeId}`}
                disabled={readOnly}
                errors={clientProblem ? { [name]: problemText(t, clientProblem) } : {}}
                onChange={(_n, v, p) => {
                  if (!p) onParam(name, v as ParamValue);
                }}
              />
            ) : null}
            {isBinding(value) ? <div className="y-help">{st("fromHelp", { node: splitBinding(value).node })}</div> : null}
            {prop.description ? <div className="y-help">{prop.description}</div> : null}
            <FieldError text={serverProblem} testId={`inspector-problem-${name}`} />
          </div>
        );
      })}

      <h3 className="y-card-title">{st("execution")}</h3>
      <div className="y-row y-wrap">
        <label className="y-field">
          <span className="y-label">{st("retries")}</span>
          <input
            className="y-input"
            type="number"
            min={0}
            max={20}
            value={node.retries ?? ""}
            placeholder={String(spec.retries ?? 1)}
            disabled={readOnly}
            onChange={(e) => onNode({ retries: e.target.value === "" ? undefined : Number(e.target.value) })}
            data-testid="inspector-retries"
          />
          <FieldError text={fieldProblem("retries")} />
        </label>
        <label className="y-field">
          <span className="y-label">{st("timeout")}</span>
          <input
            className="y-input"
            value={node.timeout ?? ""}
            placeholder="15m"
            disabled={readOnly}
            onChange={(e) => onNode({ timeout: e.target.value === "" ? undefined : /^\d+$/.test(e.target.value) ? Number(e.target.value) : e.target.value })}
            data-testid="inspector-timeout"
          />
          <FieldError text={fieldProblem("timeout")} />
        </label>
      </div>
      <div className="y-row y-wrap" data-testid="inspector-resources">
        <label className="y-field" title={st("resourcesHelp")}>
          <span className="y-label">{st("cpu")}</span>
          <input
            className="y-input"
            type="number"
            min={1}
            max={64}
            value={node.resources?.cpu ?? ""}
            placeholder={st("fromScript")}
            disabled={readOnly}
            onChange={(e) => setResource("cpu", e.target.value === "" ? undefined : Number(e.target.value))}
            data-testid="inspector-cpu"
          />
          <FieldError text={fieldProblem("resources.cpu")} testId="inspector-problem-resources-cpu" />
        </label>
        <label className="y-field" title={st("resourcesHelp")}>
          <span className="y-label">{st("memoryMb")}</span>
          <input
            className="y-input"
            type="number"
            min={16}
            value={node.resources?.memory_mb ?? ""}
            placeholder={st("fromScript")}
            disabled={readOnly}
            onChange={(e) => setResource("memory_mb", e.target.value === "" ? undefined : Number(e.target.value))}
            data-testid="inspector-memory"
          />
          <FieldError text={fieldProblem("resources.memory_mb")} testId="inspector-problem-resources-memory_mb" />
        </label>
        <label className="y-field" title={st("resourcesHelp")}>
          <span className="y-label">{st("queue")}</span>
          <input
            className="y-input"
            value={node.resources?.queue ?? ""}
            placeholder={st("fromScript")}
            disabled={readOnly}
            onChange={(e) => setResource("queue", e.target.value === "" ? undefined : e.target.value)}
            data-testid="inspector-queue"
          />
          <FieldError text={fieldProblem("resources.queue")} testId="inspector-problem-resources-queue" />
        </label>
      </div>
      {mine
        .filter((p) => p.field === "resources" || (p.field.startsWith("resources.") && !["resources.cpu", "resources.memory_mb", "resources.queue"].includes(p.field)))
        .map((p, i) => (
          <FieldError key={i} text={`${p.field}: ${p.reason}`} />
        ))}

      {others.length ? (
        <>
          <h3 className="y-card-title">{st("runsAfter")}</h3>
          <div className="y-multi" data-testid="inspector-after">
            {others.map((o) => (
              <label key={o} className="y-check">
                <input type="checkbox" checked={upstream.has(o)} disabled={readOnly} onChange={(e) => onAfter(o, e.target.checked)} data-testid={`inspector-after-${o}`} />
                <span>{o}</span>
              </label>
            ))}
          </div>
          <FieldError text={fieldProblem("depends_on")} />
        </>
      ) : null}
      <div className="y-row" style={{ marginTop: 12 }}>
        <button type="button" className="y-btn y-btn-danger" disabled={readOnly} onClick={onDelete} data-testid="inspector-delete">
          {st("deleteNode")}
        </button>
      </div>
    </div>
  );
}
