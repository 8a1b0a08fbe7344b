// Plain CSS on Chakra's semantic tokens (Airflow's theme), so the pages follow its light and
// dark mode; the fallbacks apply outside Airflow (tests) and when a token is missing.
export const CSS = `
.ylai{--y-fg:var(--chakra-colors-fg,#18181b);--y-muted:var(--chakra-colors-fg-muted,#52525b);--y-bg:var(--chakra-colors-bg,#fff);
--y-panel:var(--chakra-colors-bg-panel,#fff);--y-subtle:var(--chakra-colors-bg-subtle,#f4f4f5);--y-border:var(--chakra-colors-border,#e4e4e7);
--y-accent:#0b7285;--y-ok:#15803d;--y-bad:#b91c1c;--y-run:#0e7490;--y-wait:#52525b;--y-warn:#b45309;
color:var(--y-fg);font-size:14px;line-height:1.45;padding:8px 4px 24px;max-width:1600px}
.ylai.ylai-dark{--y-fg:var(--chakra-colors-fg,#fafafa);--y-muted:var(--chakra-colors-fg-muted,#a1a1aa);--y-bg:var(--chakra-colors-bg,#09090b);
--y-panel:var(--chakra-colors-bg-panel,#18181b);--y-subtle:var(--chakra-colors-bg-subtle,#18181b);--y-border:var(--chakra-colors-border,#3f3f46);
--y-accent:#67e8f9;--y-ok:#4ade80;--y-bad:#f87171;--y-run:#22d3ee;--y-wait:#a1a1aa;--y-warn:#fbbf24}
.ylai *{box-sizing:border-box}
.ylai a{color:var(--y-accent);text-decoration:none}.ylai a:hover{text-decoration:underline}
.ylai code,.ylai .y-mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.y-header{margin-bottom:12px}.y-header-row{display:flex;gap:12px;align-items:flex-end;justify-content:space-between;flex-wrap:wrap}
.y-title{font-size:22px;font-weight:600;margin:6px 0 2px}.y-muted{color:var(--y-muted)}.y-small{font-size:12px}
.y-tabs{display:flex;gap:4px;border-bottom:1px solid var(--y-border);margin-bottom:8px;flex-wrap:wrap}
.ylai .y-tab{padding:6px 12px;border-bottom:2px solid transparent;color:var(--y-muted)}
.ylai .y-tab-active{color:var(--y-fg);border-bottom-color:var(--y-accent);font-weight:600}
.y-actions,.y-row{display:flex;gap:8px;align-items:center}.y-wrap{flex-wrap:wrap}.y-push{margin-left:auto}.y-grow{flex:1 1 180px;min-width:0}
.y-cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px;margin-bottom:12px}
.y-card{background:var(--y-panel);border:1px solid var(--y-border);border-radius:8px;padding:12px 14px;margin-bottom:12px;min-width:0}
.y-card-title{font-size:15px;font-weight:600;margin:0 0 8px;display:flex;gap:8px;align-items:center}
.y-stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(70px,1fr));gap:10px 14px}.y-stat-value{font-size:22px;font-weight:600}.y-stat-label{color:var(--y-muted);font-size:12px}.y-stat-label::first-letter{text-transform:uppercase}
.y-tone-ok{color:var(--y-ok)}.y-tone-bad{color:var(--y-bad)}.y-tone-run{color:var(--y-run)}.y-tone-wait{color:var(--y-wait)}.y-tone-warn{color:var(--y-warn)}.y-tone-muted{color:var(--y-muted)}
.y-badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.y-chip{display:inline-block;padding:0 6px;margin:0 4px 2px 0;border-radius:4px;font-size:11px;background:var(--y-subtle);border:1px solid var(--y-border);color:var(--y-fg)}
.y-kind{font-size:11px;color:var(--y-muted);text-transform:uppercase;letter-spacing:.03em}
.y-table-wrap{overflow-x:auto}.y-table{width:100%;border-collapse:collapse}
.y-table th,.y-table td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--y-border);vertical-align:top}
.y-table th{font-size:12px;color:var(--y-muted);font-weight:600}.y-table-compact th,.y-table-compact td{padding:3px 6px}
.y-nowrap{white-space:nowrap}.y-ellipsis{max-width:320px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.y-btn{display:inline-flex;align-items:center;gap:4px;padding:5px 12px;border-radius:6px;border:1px solid var(--y-border);background:var(--y-panel);color:var(--y-fg);cursor:pointer;font:inherit;font-size:13px;white-space:nowrap}
.ylai a.y-btn{color:var(--y-fg);text-decoration:none}.y-btn:hover:not(:disabled){background:var(--y-subtle)}
.y-btn:disabled{opacity:.5;cursor:not-allowed}.y-btn-small{padding:2px 8px;font-size:12px}
.y-btn-primary,.ylai a.y-btn-primary{background:var(--y-accent);border-color:var(--y-accent);color:#fff}
.ylai-dark .y-btn-primary,.ylai-dark a.y-btn-primary{color:#09090b}
.y-btn-primary:hover:not(:disabled){filter:brightness(1.1);background:var(--y-accent)}
.y-btn-danger{color:var(--y-bad);border-color:var(--y-bad)}
.y-btn-on{background:var(--y-subtle);border-color:var(--y-accent);font-weight:600}
.y-sort{background:none;border:0;padding:0;font:inherit;color:inherit;cursor:pointer;text-align:left}.y-sort-on{color:var(--y-fg)}
.y-seg{display:inline-flex;gap:4px}
.y-refresh{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.y-input{font:inherit;font-size:13px;padding:5px 8px;border-radius:6px;border:1px solid var(--y-border);background:var(--y-bg);color:var(--y-fg);min-width:0;max-width:100%}
.y-input:focus{outline:2px solid var(--y-accent);outline-offset:0}.y-textarea{width:100%;resize:vertical}
.y-input[aria-invalid=true]{border-color:var(--y-bad)}
.y-form-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px 16px;margin:8px 0}
.y-field{display:flex;flex-direction:column;gap:4px;margin-bottom:8px;min-width:0}.y-field .y-input{width:100%}
.y-label{font-weight:600;font-size:13px}.y-required{color:var(--y-bad)}.y-help{font-size:12px;color:var(--y-muted)}
.y-field-error{color:var(--y-bad);font-size:12px}
.y-error{color:var(--y-bad);border:1px solid var(--y-bad);border-radius:6px;padding:8px 10px;margin:8px 0;white-space:pre-wrap}
.y-note{border-left:3px solid var(--y-warn);padding:4px 10px;margin:8px 0;background:var(--y-subtle)}
.y-empty{padding:20px;text-align:center;color:var(--y-muted);border:1px dashed var(--y-border);border-radius:8px;margin:8px 0}
.y-switch,.y-check{display:inline-flex;gap:6px;align-items:center;cursor:pointer;font-weight:400}
.y-multi{display:flex;flex-wrap:wrap;gap:4px 14px;padding:4px 0}
.y-combo{position:relative}.y-combo-row{gap:4px}.y-chips{display:flex;flex-wrap:wrap;gap:4px;list-style:none;margin:0 0 4px;padding:0}
.y-chip-choice{display:inline-flex;gap:4px;align-items:center;font-size:12px;padding:1px 2px 1px 6px;margin:0}.y-chip-remove{border:0;background:none;color:inherit;cursor:pointer;padding:0 4px;font:inherit}
.y-listbox{position:absolute;z-index:20;left:0;right:0;max-height:260px;overflow:auto;list-style:none;margin:2px 0 0;padding:2px 0;background:var(--y-bg);border:1px solid var(--y-border);border-radius:6px;box-shadow:0 4px 12px rgba(0,0,0,.15)}.y-listbox[hidden]{display:none}
.y-option{padding:4px 8px;cursor:pointer;font-size:13px}.y-option-active{background:var(--y-subtle);outline:1px solid var(--y-accent)}.y-option[aria-selected=true]{font-weight:600}.y-options-error{gap:6px}.y-live-status{display:flex;flex-direction:column;gap:4px}.y-live-status:empty{display:none}
.y-split{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px;align-items:start}.y-col{min-width:0}
.y-helpers{display:flex;flex-direction:column;gap:8px;margin-bottom:8px;padding-bottom:8px;border-bottom:1px solid var(--y-border)}
.y-details{margin:8px 0}.y-details summary{cursor:pointer;color:var(--y-muted);font-size:13px}
.y-json{background:var(--y-subtle);border:1px solid var(--y-border);border-radius:6px;padding:8px;margin:6px 0;overflow:auto;max-height:320px;font-size:12px}
.y-dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}.y-dl dt{color:var(--y-muted)}.y-dl dd{margin:0}
.y-list{margin:0;padding-left:18px}
.y-log-hit{list-style:none;margin-bottom:8px}.y-log-text{margin:6px 0 0;white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}.y-log-text mark{background:var(--y-warn);color:inherit;border-radius:2px}
.y-chart-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:0 12px}.y-span-2{grid-column:1/-1}
.y-chart{width:100%}
.y-filters{margin-bottom:10px}
.y-nodes{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}.y-node{display:inline-flex;gap:6px;align-items:center;padding:3px 8px;border:1px solid var(--y-border);border-radius:6px}
.y-log{background:var(--y-subtle);border:1px solid var(--y-border);border-radius:6px;height:340px;overflow:auto;padding:6px 8px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.y-logline{display:flex;gap:8px;white-space:pre-wrap;word-break:break-word}.y-log-time{color:var(--y-muted);flex:none}
.y-log-task{color:var(--y-accent);flex:none}.y-log-level{flex:none;width:56px;color:var(--y-muted);text-transform:uppercase}
.y-level-error .y-log-level,.y-level-error .y-log-event,.y-level-critical .y-log-event{color:var(--y-bad)}.y-level-warning .y-log-level{color:var(--y-warn)}
.y-result{margin-top:12px}.y-output{margin:8px 0}
.y-export{display:flex;flex-direction:column;gap:4px;margin-bottom:6px}.y-input-small{padding:2px 6px;font-size:12px}.y-export progress{width:160px}
.y-cond{border:1px solid var(--y-border);border-radius:6px;padding:8px 10px;margin-bottom:8px}
.y-channel{margin-bottom:6px;align-items:flex-start}.y-delivery{border-bottom:1px solid var(--y-border);padding:6px 0 8px;margin-bottom:6px}
.ylai{position:relative}.y-viewlink{position:absolute;top:14px;right:8px;font-size:12px;display:flex;gap:12px}
.ylai.ylai-standalone{margin:0 auto;padding:0 16px 24px}.ylai-standalone .y-viewlink{display:none}
.y-topbar{display:flex;gap:12px;align-items:center;height:44px;border-bottom:1px solid var(--y-border);margin:0 -16px 4px;padding:0 16px;font-size:13px}
.y-brand{font-weight:700;font-size:16px;margin-right:auto}.y-topbar .y-input{padding:3px 6px}
.y-corner{position:relative;display:flex;gap:6px;align-items:center}
.y-corner .y-note{margin:0}
.y-dialog{position:absolute;right:0;top:calc(100% + 6px);z-index:30;width:380px;max-width:calc(100vw - 32px);margin:0;box-shadow:0 8px 24px rgba(0,0,0,.18)}
.y-heat{position:absolute;inset:0;pointer-events:none;z-index:25}
.y-heat-cell{position:absolute;background:#ef4444;border-radius:3px}
.y-heat-legend{position:fixed;right:16px;bottom:16px;background:var(--y-panel);border:1px solid var(--y-border);border-radius:6px;padding:4px 8px}
`;

let injected = false;

export function injectStyles(): void {
  if (injected || typeof document === "undefined") return;
  injected = true;
  // The standalone view's HTML already carries these styles inline (first paint without JS).
  if (document.querySelector("style[data-ylai]")) return;
  const el = document.createElement("style");
  el.setAttribute("data-ylai", "");
  el.textContent = CSS;
  document.head.appendChild(el);
}
