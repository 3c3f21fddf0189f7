/**
 * The admin page (`GET /admin`): plain server-rendered HTML of the same data as /admin/api,
 * plus a small script for the explain, flush, hold and release forms. No framework, no build.
 */
import type { RecentFlush } from '../flush/types.js';
import type { FarmStatus, ServerStatus } from './admin-api.js';

export interface AdminPageData {
  readonly serverName: string;
  readonly configFile: string | undefined;
  readonly propagation: string;
  readonly startedAt: string;
  readonly farms: readonly FarmStatus[];
  readonly servers: readonly ServerStatus[];
  readonly flushes: readonly RecentFlush[];
  readonly notices: readonly string[];
}

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const pct = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(1)} %`);

function farmRows(farms: readonly FarmStatus[]): string {
  return farms
    .map(
      (f) => `<tr data-farm="${esc(f.name)}">
  <td><strong>${esc(f.name)}</strong></td>
  <td>${f.virtualhosts.map((h) => `<code>${esc(h)}</code>`).join(' ')}</td>
  <td><code>${esc(f.docroot)}</code></td>
  <td class="num">${f.statfileslevel}</td>
  <td>${f.flushRoutes.map((g) => `<code>${esc(g)}</code>`).join(' ') || '<em>none</em>'}</td>
  <td class="num">${pct(f.hitRatio)}</td>
  <td class="num">${f.requests.hit} / ${f.requests.miss} / ${f.requests.stale} / ${f.requests.pass}</td>
  <td class="num">${f.cachedFiles === null ? '–' : `${f.cachedFiles}${f.cachedFilesCapped ? '+' : ''}`}</td>
</tr>`,
    )
    .join('\n');
}

function serverRows(servers: readonly ServerStatus[]): string {
  return servers
    .map(
      (s) => `<tr data-server="${esc(s.name)}" data-held="${s.held}">
  <td><strong>${esc(s.name)}</strong>${s.self ? ' <span class="tag">this server</span>' : ''}</td>
  <td>${s.lastHeartbeat ? `<time>${esc(s.lastHeartbeat)}</time>` : '–'}</td>
  <td>${s.responding ? '<span class="ok">responding</span>' : '<span class="bad">not responding</span>'}</td>
  <td class="num">${s.lag}</td>
  <td class="state">${s.held ? '<span class="bad">held</span>' : 'applying'}</td>
  <td>
    <button type="button" data-action="hold" data-name="${esc(s.name)}" ${s.held ? 'disabled' : ''}>Hold</button>
    <button type="button" data-action="release" data-name="${esc(s.name)}" ${s.held ? '' : 'disabled'}>Release</button>
  </td>
</tr>`,
    )
    .join('\n');
}

/** The result cell: what became of the flush and why (the status the sender got, when not 200). */
function flushResult(f: RecentFlush): string {
  switch (f.outcome) {
    case 'applied':
      return '<span class="ok">ok</span>';
    case 'test':
      return `<span class="muted">${esc(f.result)}</span>`;
    case 'unrouted':
      return `<span class="warn">unrouted${f.status === 200 ? '' : ` · ${f.status}`}: ${esc(f.result)}</span>`;
    case 'refused':
      return `<span class="bad">refused · ${f.status}: ${esc(f.result)}</span>`;
    default:
      return `<span class="bad">failed · ${f.status}: ${esc(f.result)}</span>`;
  }
}

function flushRows(flushes: readonly RecentFlush[]): string {
  if (flushes.length === 0) return '<tr><td colspan="9"><em>No flushes yet.</em></td></tr>';
  return flushes
    .map(
      (f) => `<tr data-outcome="${esc(f.outcome)}" data-status="${f.status}">
  <td><time>${esc(f.time)}</time></td>
  <td>${esc(f.origin)}${f.door === 'http' || f.door === 'admin' ? '' : ` <span class="tag">${esc(f.door)}</span>`}${f.client && f.client !== f.origin ? ` <span class="muted">${esc(f.client)}</span>` : ''}</td>
  <td>${esc(f.action)}${f.scope ? ` <span class="tag">${esc(f.scope)}</span>` : ''}</td>
  <td><code>${esc(f.handle)}</code></td>
  <td>${esc(f.farms.join(', ')) || (f.outcome === 'unrouted' ? '<em>unrouted</em>' : '–')}</td>
  <td class="num">${f.touched}</td>
  <td class="num">${f.deleted}</td>
  <td class="num">${f.ms}</td>
  <td>${flushResult(f)}</td>
</tr>`,
    )
    .join('\n');
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { background: #1d2430; color: #fff; padding: 12px 24px; display: flex; gap: 24px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
header span { color: #b8c1cf; }
main { padding: 16px 24px; max-width: 1400px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
td:first-child { white-space: nowrap; }
th { font-weight: 600; color: #4a5566; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12.5px; background: #f1f3f6; padding: 1px 4px; border-radius: 3px; }
.ok { color: #1a7f37; } .bad { color: #b42318; font-weight: 600; } .warn { color: #9a6700; font-weight: 600; } .muted { color: #6b7686; }
.tag { font-size: 11px; background: #e8eefc; color: #2f4fa8; padding: 1px 6px; border-radius: 8px; }
.forms { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
form label { display: block; margin: 4px 0; } form input, form select { font: inherit; padding: 3px 6px; width: 100%; box-sizing: border-box; }
button { font: inherit; padding: 4px 12px; border: 1px solid #9aa4b2; border-radius: 4px; background: #fff; cursor: pointer; }
button:disabled { opacity: .45; cursor: default; }
pre.result { background: #f1f3f6; padding: 8px; border-radius: 4px; white-space: pre-wrap; max-height: 360px; overflow: auto; }
.notice { background: #fff4e5; border-color: #f5c17a; }
`;

const SCRIPT = `
const api = async (path, body) => {
  const res = await fetch(path, { method: body ? 'POST' : 'GET', credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-farmgate-admin': '1' }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  let data; try { data = JSON.parse(text); } catch { data = text; }
  if (!res.ok) throw new Error(typeof data === 'string' ? data : JSON.stringify(data));
  return data;
};
const fields = (form) => Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
const show = (id, text) => { const el = document.getElementById(id); el.textContent = text; el.hidden = false; };
function describeExplain(r) {
  const lines = ['handle ' + r.handle + ' (' + r.action + (r.scope ? ', ' + r.scope : '') + '), CQ-Path ' + r.routingKey];
  if (r.farms.length === 0) lines.push('no farm routes this path');
  for (const f of r.farms) {
    lines.push('', 'farm ' + f.farm + ' (matched ' + f.route + ', statfileslevel ' + f.statfileslevel + ')');
    lines.push('  .stat to touch: ' + (f.touches.map((t) => t.stat + (t.exists ? '' : ' (new)')).join(', ') || 'none'));
    lines.push('  to delete: ' + (f.deletes.map((d) => d.docPath + (d.kind === 'folder' ? ' (' + d.files + ' files)' : '')).join(', ') || 'nothing cached'));
    lines.push('  would go stale: ' + f.stale.count + (f.stale.truncated ? '+' : '') + (f.stale.sample.length ? ' e.g. ' + f.stale.sample.join(', ') : ''));
  }
  for (const n of r.notRouted) lines.push('', 'not routed to ' + n.farm + ' (flushRoutes ' + (n.flushRoutes.join(' ') || 'none') + ')');
  return lines.join('\\n');
}
document.getElementById('explain-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try { show('explain-result', describeExplain(await api('/admin/api/explain', fields(e.target)))); }
  catch (err) { show('explain-result', 'error: ' + err.message); }
});
function describeTags(r) {
  if (r.tag !== undefined) {
    return r.farms.map((f) => 'farm ' + f.farm + ': ' + f.count + ' cached file' + (f.count === 1 ? '' : 's') + ' carry ' + r.tag
      + (f.rebuilding ? ' (index rebuilding)' : '') + (f.sample.length ? '\\n  ' + f.sample.join('\\n  ') : '')).join('\\n');
  }
  return r.farms.map((f) => 'farm ' + f.farm + ': ' + (f.cached ? (f.tags.length ? f.tags.join(' ') : 'no tags') : 'not cached (or untagged)')).join('\\n');
}
document.getElementById('tags-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try { show('tags-result', describeTags(await api('/admin/api/tags', fields(e.target)))); }
  catch (err) { show('tags-result', 'error: ' + err.message); }
});
document.getElementById('flush-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const r = await api('/admin/api/flush', fields(e.target));
    show('flush-result', 'OK: ' + (r.farms.map((f) => f.farm + ' (' + f.touched.length + ' .stat touched, ' + f.deleted.length + ' deleted)').join(', ') || 'no farm routes this path'));
    setTimeout(() => location.reload(), 600);
  } catch (err) { show('flush-result', 'error: ' + err.message); }
});
for (const b of document.querySelectorAll('button[data-action]')) {
  b.addEventListener('click', async () => {
    try { await api('/admin/api/servers/' + encodeURIComponent(b.dataset.name) + '/' + b.dataset.action, {}); location.reload(); }
    catch (err) { alert(err.message); }
  });
}
`;

export function renderAdminPage(d: AdminPageData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>farmgate · ${esc(d.serverName)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
<header><h1>farmgate</h1><span>server <strong>${esc(d.serverName)}</strong></span>
<span>config ${esc(d.configFile ?? '(in memory)')}</span><span>propagation ${esc(d.propagation)}</span><span>up since ${esc(d.startedAt)}</span></header>
<main>
${d.notices.map((n) => `<section class="notice">${esc(n)}</section>`).join('\n')}
<section id="farms"><h2>Farms</h2>
<table><thead><tr><th>farm</th><th>virtualhosts</th><th>docroot</th><th>statfileslevel</th><th>flushRoutes</th><th>hit ratio</th><th>hit / miss / stale / pass</th><th>cached files</th></tr></thead>
<tbody>${farmRows(d.farms)}</tbody></table></section>
<section id="servers"><h2>Servers of the web farm</h2>
<table><thead><tr><th>server</th><th>last heartbeat</th><th>status</th><th>lag (events)</th><th>state</th><th></th></tr></thead>
<tbody>${serverRows(d.servers)}</tbody></table></section>
<section id="flushes"><h2>Recent flushes</h2><p>Every flush this server saw, newest first: applied, failed, Test, unrouted (no farm routes its CQ-Path) and refused before anything was done, with the reason.</p>
<table><thead><tr><th>time</th><th>origin</th><th>action</th><th>handle</th><th>farms</th><th>.stat touched</th><th>deleted</th><th>ms</th><th>result</th></tr></thead>
<tbody>${flushRows(d.flushes)}</tbody></table></section>
<div class="forms">
<section><h2>Explain a handle</h2><p>Why didn't my page update? A dry run: nothing changes.</p>
<form id="explain-form"><label>Handle <input name="handle" required placeholder="/content/site-a/en/page"></label>
<label>Action <select name="action"><option>Activate</option><option>Deactivate</option><option>Delete</option></select></label>
<label><input type="checkbox" name="scope" value="ResourceOnly" style="width:auto"> ResourceOnly</label>
<button type="submit">Explain</button></form><pre class="result" id="explain-result" hidden></pre></section>
<section><h2>Tags</h2><p>The tags a cached file carries, or the cached files carrying a tag (what invalidating it would delete). Nothing changes.</p>
<form id="tags-form"><label>Cached file <input name="path" placeholder="/content/site-a/en/page.html"></label>
<label>or tag <input name="tag" placeholder="product-42"></label>
<button type="submit">Look up</button></form><pre class="result" id="tags-result" hidden></pre></section>
<section><h2>Send a flush</h2><p>Applied here${d.propagation === 'redis' ? ' and sent to every server of the web farm' : ''}.</p>
<form id="flush-form"><label>Handle <input name="handle" required placeholder="/content/site-a/en/page"></label>
<label>Action <select name="action"><option>Activate</option><option>Deactivate</option><option>Delete</option><option>Test</option></select></label>
<label><input type="checkbox" name="scope" value="ResourceOnly" style="width:auto"> ResourceOnly</label>
<button type="submit">Flush</button></form><pre class="result" id="flush-result" hidden></pre></section>
</div>
</main>
<script>${SCRIPT}</script>
</body></html>
`;
}
