import { memo } from "react";
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { useI18n } from "../../i18n";
import { useStudioText } from "./i18n";
import type { StudioNodeData } from "../../lib/pipeline/types";

/** What a canvas node shows beyond the model's data: its script's title, or that the script is unknown. */
export type NodeData = StudioNodeData & { title?: string; unknownScript?: boolean };
export type StudioNodeType = Node<NodeData, "script">;

/** One node of the canvas: id, script, problems (red badge), and during a run its state and duration. */
export const StudioNode = memo(function StudioNode({ id, data, selected }: NodeProps<StudioNodeType>) {
  const { tx, duration } = useI18n();
  const st = useStudioText();
  const state = data.state ?? null;
  const cls = ["y-sn", selected ? "y-sn-selected" : "", state ? `y-sn-${state}` : "", data.problems.length ? "y-sn-bad" : ""].filter(Boolean).join(" ");
  return (
    <div className={cls} data-state={state ?? ""} data-testid={`studio-node-${id}`}>
      <Handle type="target" position={Position.Left} />
      <div className="y-sn-id">{id}</div>
      <div className="y-sn-script y-muted" title={data.script}>
        {data.unknownScript ? `⚠ ${data.script}` : (data.title ?? data.script)}
      </div>
      {state ? (
        <div className="y-sn-run" data-testid={`node-state-${id}`}>
          {tx(`state.${state}`, state)}
          {data.durationSeconds != null ? ` · ${duration(data.durationSeconds)}` : ""}
        </div>
      ) : null}
      {data.problems.length ? (
        <span className="y-sn-problem" title={data.problems.join("\n")} aria-label={st("problemsOnNode", { n: data.problems.length })} data-testid={`node-problem-${id}`}>
          {data.problems.length}
        </span>
      ) : null}
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

export const NODE_TYPES = { script: StudioNode };
