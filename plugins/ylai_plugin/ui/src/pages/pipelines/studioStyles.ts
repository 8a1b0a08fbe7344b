// The studio's CSS (with React Flow's own), injected when the editor first renders: the other
// pages never load it.
import flowCss from "@xyflow/react/dist/style.css?inline";

const CSS = `
.y-studio{display:grid;grid-template-columns:220px minmax(0,1fr) 340px;gap:8px;height:calc(100vh - 230px);min-height:520px}
.y-studio-panel{background:var(--y-panel);border:1px solid var(--y-border);border-radius:8px;padding:8px;overflow:auto;min-width:0}
.y-studio-canvas{position:relative;border:1px solid var(--y-border);border-radius:8px;overflow:hidden;min-height:400px;background:var(--y-bg)}
.y-studio-canvas:focus{outline:2px solid var(--y-accent)}
.y-palette-item{display:flex;gap:6px;align-items:center;padding:5px 6px;border:1px solid var(--y-border);border-radius:6px;margin-bottom:4px;background:var(--y-bg);cursor:grab;user-select:none}
.y-palette-item[aria-disabled=true]{cursor:not-allowed;opacity:.6}
.y-palette-item .y-grow{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.y-sn{position:relative;width:200px;min-height:56px;padding:6px 10px;border:1.5px solid var(--y-border);border-radius:8px;background:var(--y-panel);color:var(--y-fg);font-size:12px}
.y-sn-selected{border-color:var(--y-accent);box-shadow:0 0 0 2px color-mix(in srgb,var(--y-accent) 35%,transparent)}
.y-sn-id{font-weight:600;font-size:13px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.y-sn-script{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.y-sn-run{font-size:11px;font-weight:600;margin-top:2px}
.y-sn-bad{border-color:var(--y-bad)}
.y-sn-problem{position:absolute;top:-9px;right:-9px;min-width:18px;height:18px;border-radius:9px;background:var(--y-bad);color:#fff;font-size:11px;font-weight:700;display:flex;align-items:center;justify-content:center;padding:0 4px;cursor:help}
.y-sn-success{border-color:var(--y-ok);background:color-mix(in srgb,var(--y-ok) 14%,var(--y-panel))}.y-sn-success .y-sn-run{color:var(--y-ok)}
.y-sn-failed,.y-sn-upstream_failed{border-color:var(--y-bad);background:color-mix(in srgb,var(--y-bad) 14%,var(--y-panel))}.y-sn-failed .y-sn-run{color:var(--y-bad)}
.y-sn-running{border-color:var(--y-run);background:color-mix(in srgb,var(--y-run) 14%,var(--y-panel))}.y-sn-running .y-sn-run{color:var(--y-run)}
.y-sn-queued,.y-sn-scheduled{border-style:dashed;border-color:var(--y-wait)}
.y-sn-up_for_retry{border-color:var(--y-warn);background:color-mix(in srgb,var(--y-warn) 14%,var(--y-panel))}.y-sn-up_for_retry .y-sn-run{color:var(--y-warn)}
.y-studio-notice{position:absolute;left:8px;top:8px;z-index:5;max-width:70%}
.y-studio-bar{display:flex;gap:6px;align-items:center;flex-wrap:wrap;margin-bottom:8px}
.y-studio-yaml{width:100%;min-height:480px;height:calc(100vh - 300px);font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.y-bind{display:flex;flex-direction:column;gap:4px;padding:6px 0;border-bottom:1px solid var(--y-border)}
.y-bind .y-form-grid{grid-template-columns:1fr;margin:0}
.y-param-row{display:grid;grid-template-columns:1fr 110px 1fr auto;gap:6px;align-items:center;margin-bottom:6px}
.ylai .react-flow{--xy-background-color-default:transparent}
.ylai-dark .react-flow__minimap{background:var(--y-panel)}
`;

let injected = false;

export function injectStudioStyles(): void {
  if (injected || typeof document === "undefined") return;
  injected = true;
  const el = document.createElement("style");
  el.setAttribute("data-ylai-studio", "");
  el.textContent = `${flowCss}\n${CSS}`;
  document.head.appendChild(el);
}
