// The dashboard's stylesheet (served at /dashboard/assets/dashboard.css; no inline styles, for the CSP).
export const DASHBOARD_CSS = `
:root { --fg: #1a1a1a; --muted: #555; --bg: #fff; --line: #d0d0d0; --accent: #0b57d0; --ok: #146c2e; --bad: #b3261e; --card: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #f9a825; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
.top { display: flex; justify-content: space-between; align-items: center; gap: 12px; padding: 10px 20px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
.top nav { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.brand { font-weight: 700; font-size: 1.2rem; text-decoration: none; color: var(--fg); }
main { max-width: 1100px; margin: 0 auto; padding: 16px 20px 48px; }
h1 { font-size: 1.6rem; margin: 8px 0 16px; } h2 { font-size: 1.25rem; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.muted, .card-note, .note { color: var(--muted); } .note { font-size: .92rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
.card-label { font-size: .9rem; color: var(--muted); } .card-value { font-size: 1.35rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.card-note { font-size: .85rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .9rem; } .num { text-align: right; white-space: nowrap; }
/* Long hashes break anywhere, but only when they would not fit: short words (GET, retrieval-v1) never break mid-word. */
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; overflow-wrap: anywhere; }
dd, .result, .flash, .card-value { overflow-wrap: anywhere; min-width: 0; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--card); padding: 8px; border: 1px solid var(--line); border-radius: 6px; }
.chart svg { width: 100%; height: 160px; display: block; }
.chart .ticks { display: flex; justify-content: space-between; font-size: .8rem; color: var(--muted); }
.sr-label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.nowrap { white-space: nowrap; overflow-wrap: normal; }
.break { overflow-wrap: anywhere; }
/* Rate-card prices side by side while they fit, one per line on a phone. */
.price-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 0 16px; } .price-grid input.price { max-width: 12em; } .panel-title { margin-top: 0; }
.chart .bar { fill: var(--accent); } .chart .axis { stroke: var(--muted); } .chart .tick { font-size: 11px; fill: var(--muted); } .chart .end { text-anchor: end; }
figcaption { font-weight: 600; margin-bottom: 4px; } figure { margin: 0; }
.pager { display: flex; gap: 16px; align-items: center; margin: 8px 0; }
.crumbs { margin: 4px 0 8px; }
form.inline { display: inline; }
label { display: block; font-weight: 600; margin: 8px 0 4px; }
input[type=text], input[type=password], select { font: inherit; padding: 8px; border: 1px solid #767676; border-radius: 6px; width: 100%; max-width: 420px; }
button { font: inherit; padding: 8px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; margin-top: 8px; }
button.secondary { background: #fff; color: var(--accent); } button.link { background: none; border: 0; color: var(--accent); text-decoration: underline; padding: 0; margin: 0; }
button.danger { background: var(--bad); border-color: var(--bad); } a.danger-link { color: var(--bad); border: 1px solid var(--bad); padding: 4px 10px; border-radius: 6px; text-decoration: none; }
button:disabled, button:disabled:hover { background: #e0e0e0; border-color: #bdbdbd; color: #595959; cursor: not-allowed; }
.actions { display: flex; gap: 12px; flex-wrap: wrap; align-items: center; } a.button { display: inline-block; padding: 8px 14px; border-radius: 6px; border: 1px solid var(--accent); text-decoration: none; margin-top: 8px; }
.panels > *, .cards > * { min-width: 0; }
progress { width: 100%; max-width: 420px; } .status-indexed { color: var(--ok); font-weight: 600; } .status-failed { color: var(--bad); font-weight: 600; }
ul.uploads { list-style: none; padding: 0; } fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; } label.check { font-weight: 400; display: flex; gap: 8px; align-items: center; } ul.uploads li { margin: 6px 0; overflow-wrap: anywhere; }
.panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 24px; }
.panel { border: 1px solid var(--line); border-radius: 8px; padding: 16px; }
.result[data-state=valid] { color: var(--ok); font-weight: 600; } .result[data-state=invalid] { color: var(--bad); font-weight: 600; }
.flash { background: #e8f0fe; border: 1px solid var(--accent); padding: 10px 12px; border-radius: 6px; margin: 12px 0; }
.flash.error { background: #fce8e6; border-color: var(--bad); }
.secret { font-size: 1rem; background: #fff8e1; padding: 8px; display: block; }
.row-actions { display: flex; gap: 8px; flex-wrap: wrap; align-items: end; }
.row-actions input[type=text] { width: 10em; max-width: 100%; padding: 4px 6px; }
.row-actions button { margin: 0; padding: 4px 10px; }
@media (max-width: 600px) {
  main { padding: 12px; } h1 { font-size: 1.35rem; } th, td { padding: 5px 4px; font-size: .9rem; } .hide-sm { display: none; }
  .row-actions { flex-direction: column; align-items: stretch; } .row-actions input[type=text] { width: 100%; }
  /* Wide tables become one block per row, each cell labelled, so nothing scrolls sideways at 390 px. */
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack caption { display: block; text-align: left; }
  table.stack tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.stack td { border: 0; padding: 2px 0; display: flex; gap: 12px; justify-content: space-between; text-align: right; white-space: normal; }
  table.stack td.hide-sm { display: none; }
  table.stack td::before { content: attr(data-label); font-weight: 600; color: var(--muted); text-align: left; flex: none; }
  table.stack td > * { min-width: 0; }
  table.stack td .row-actions { width: 100%; }
}
`;
