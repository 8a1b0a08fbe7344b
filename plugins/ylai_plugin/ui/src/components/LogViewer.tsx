import { useEffect, useRef, useState } from "react";
import { ylaiUrl } from "../api/client";
import { useI18n } from "../i18n";
import { StateBadge } from "./ui";

export interface LogLine {
  id: number;
  task_id: string;
  try_number?: number;
  level?: string;
  timestamp?: string;
  event?: string;
  [key: string]: unknown;
}

export type StreamStatus = "connecting" | "streaming" | "reconnecting" | "ended" | "failed";

const MAX_LINES = 5000;

export function streamUrl(dagId: string, runId: string): string {
  return ylaiUrl("/api/v1/runs/{dag_id}/{run_id}/logs/stream", { dag_id: dagId, run_id: runId });
}

function parse(ev: MessageEvent): Record<string, unknown> | null {
  try {
    const data: unknown = JSON.parse(String(ev.data));
    return data && typeof data === "object" ? (data as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Follows a run through ylai's Server-Sent Events stream (events "state", "log", "end"):
 * node states as chips, log lines as they arrive. The browser reconnects by itself and the
 * server resumes after the Last-Event-ID, so no line is shown twice.
 */
export function LogViewer({ dagId, runId, onEnd, onStates, taskId }: {
  dagId: string;
  runId: string;
  /** Show the lines of this task only (the pipeline studio's node); all tasks' states stay. */
  taskId?: string;
  onEnd?: (state: string | null, tasks: Record<string, string | null>) => void;
  onStates?: (tasks: Record<string, string | null>) => void;
}) {
  const { t, time } = useI18n();
  const [states, setStates] = useState<Record<string, string | null>>({});
  const [lines, setLines] = useState<LogLine[]>([]);
  const [status, setStatus] = useState<StreamStatus>("connecting");
  const [finalState, setFinalState] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const cb = useRef({ onEnd, onStates });
  cb.current = { onEnd, onStates };

  useEffect(() => {
    setStates({});
    setLines([]);
    setStatus("connecting");
    setFinalState(null);
    let counter = 0;
    let tasks: Record<string, string | null> = {};
    const es = new EventSource(streamUrl(dagId, runId));
    es.onopen = () => setStatus("streaming");
    es.addEventListener("state", (ev) => {
      const d = parse(ev as MessageEvent);
      if (!d) return;
      tasks = { ...tasks, [String(d.task_id)]: (d.state as string | null) ?? null };
      setStates(tasks);
      cb.current.onStates?.(tasks);
    });
    es.addEventListener("log", (ev) => {
      const d = parse(ev as MessageEvent);
      if (!d) return;
      counter += 1;
      const line = { ...d, id: counter, task_id: String(d.task_id ?? "") } as LogLine;
      setLines((prev) => (prev.length >= MAX_LINES ? [...prev.slice(prev.length - MAX_LINES + 1), line] : [...prev, line]));
    });
    es.addEventListener("end", (ev) => {
      const d = parse(ev as MessageEvent);
      es.close();
      const state = (d?.state as string | null) ?? null;
      setFinalState(state);
      setStatus("ended");
      cb.current.onEnd?.(state, tasks);
    });
    es.onerror = () => {
      setStatus(es.readyState === EventSource.CLOSED ? "failed" : "reconnecting");
    };
    return () => es.close();
  }, [dagId, runId]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  const taskIds = Object.keys(states);
  const shown = taskId ? lines.filter((l) => l.task_id === taskId) : lines;
  return (
    <div className="y-logviewer" data-testid="log-viewer" data-status={status} data-final-state={finalState ?? ""}>
      <div className="y-row y-wrap">
        <span className="y-muted" data-testid="stream-status">
          {t(`stream.${status}`)}
        </span>
        {finalState ? <StateBadge state={finalState} /> : null}
        <label className="y-check y-push">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          <span>{t("stream.follow")}</span>
        </label>
      </div>
      <div className="y-nodes" data-testid="task-states">
        {taskIds.length === 0 ? <span className="y-muted">{t("stream.noTasksYet")}</span> : null}
        {taskIds.map((id) => (
          <div key={id} className="y-node" data-task={id} data-state={states[id] ?? ""}>
            <code>{id}</code> <StateBadge state={states[id]} />
          </div>
        ))}
      </div>
      <div className="y-log" ref={box} data-testid="log-lines" role="log" aria-live="polite" aria-label={t("stream.logs")}>
        {shown.length === 0 ? <div className="y-muted">{t("stream.waiting")}</div> : null}
        {shown.map((l) => (
          <div key={l.id} className={`y-logline y-level-${String(l.level ?? "info").toLowerCase()}`}>
            <span className="y-log-time">{l.timestamp ? time(l.timestamp) : ""}</span>
            {taskIds.length > 1 && !taskId ? <span className="y-log-task">{l.task_id}</span> : null}
            <span className="y-log-level">{String(l.level ?? "")}</span>
            <span className="y-log-event">{String(l.event ?? "")}</span>
          </div>
        ))}
      </div>
    </div>
  );
}
