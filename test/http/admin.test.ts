/**
 * The admin listener: /metrics after traffic (each contract metric with its labels and counts),
 * the admin API (farms, flushes, explain, flush), and the admin token (bearer, or the cookie a
 * browser gets from /admin?token=, which POSTs only with X-Farmgate-Admin).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpRequest, oneFarmYaml, rawRequest, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const TOKEN = 'admin-secret-token';

describe('admin listener', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender();
    const yaml = oneFarmYaml(render.url)
      .replace('  listen: "127.0.0.1:0"', `  listen: "127.0.0.1:0"\n  adminToken: ${TOKEN}`)
      .replace('    cache:\n', '    filter:\n      - allow: { path: "/**" }\n      - deny: { path: "/content/secret/**" }\n    cache:\n');
    fg = await startFarmgate(yaml, { admin: true });
  });
  after(async () => {
    await fg.close();
    await render.close();
  });
  const admin = (p: string, init: Parameters<typeof httpRequest>[1] = {}) =>
    httpRequest(fg.adminUrl! + p, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...init.headers } });

  it('/metrics after traffic has every contract metric with the right labels and counts', async () => {
    const get = (p: string, headers = {}) => fg.request(p, { host: 'site.local', headers }).then((r) => r.text());
    await get('/content/m.html');
    await get('/content/m.html');
    await get('/content/m.html');
    await get('/content/m.html?q=1');
    await fg.request('/nope.html', { host: 'unknown.local' }).then((r) => r.text());
    await fg.request('/content/.stat', { host: 'site.local' }).then((r) => r.text());
    await fg.request('/content/secret/a.html', { host: 'site.local' }).then((r) => r.text());
    await rawRequest(fg.url, '/content/%2e%2e/x.html', { host: 'site.local' });
    await fg.request('/content/' + 'x'.repeat(5000) + '.html', { host: 'site.local' }).then((r) => r.text());
    await fg.request('/dispatcher/invalidate.cache', { headers: { 'cq-action': 'Activate', 'cq-handle': '/content/m' } });
    await fg.request('/dispatcher/invalidate.cache', { headers: { 'cq-action': 'Delete', 'cq-handle': '/content/m' } });
    await fg.request('/dispatcher/invalidate.cache', { headers: { 'cq-action': 'Activate', 'cq-handle': '/elsewhere/x' } });
    const res = await httpRequest(fg.adminUrl + '/metrics');
    assert.equal(res.status, 200, '/metrics needs no token');
    const m = await res.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"|]/g, '\\$&')} (\\S+)$`, 'm').exec(m)?.[1]);
    assert.equal(value('farmgate_requests_total{farm="site",cache="miss"}'), 1);
    assert.equal(value('farmgate_requests_total{farm="site",cache="hit"}'), 2);
    assert.equal(value('farmgate_requests_total{farm="site",cache="pass"}'), 1);
    assert.ok(!/farmgate_requests_total\{farm="",/.test(m), 'refused requests are not passes: they never reached the cache decision');
    assert.equal(value('farmgate_requests_refused_total{farm="",reason="unknown-host"}'), 1, 'an unknown host has no farm');
    assert.equal(value('farmgate_requests_refused_total{farm="site",reason="internal"}'), 1);
    assert.equal(value('farmgate_requests_refused_total{farm="site",reason="filter"}'), 1);
    assert.equal(value('farmgate_requests_refused_total{farm="site",reason="bad-path"}'), 1);
    assert.equal(value('farmgate_requests_refused_total{farm="",reason="url-too-long"}'), 1);
    assert.equal(value('farmgate_flushes_total{farm="site",action="activate",result="ok"}'), 1);
    assert.equal(value('farmgate_flushes_total{farm="site",action="delete",result="ok"}'), 1);
    assert.equal(value('farmgate_flush_unrouted_total'), 1);
    assert.equal(value('farmgate_flush_duration_seconds_count'), 2);
    assert.equal(value('farmgate_render_requests_total{farm="site",outcome="ok"}'), 2);
    assert.match(m, /^# TYPE farmgate_propagation_lag_events gauge$/m);
    assert.match(m, /^farmgate_process_cpu_seconds_total /m, 'default process metrics');
  });

  it('the admin token: 401 without, bearer works, /admin?token= sets a cookie for the browser', async () => {
    assert.equal((await httpRequest(fg.adminUrl + '/admin/api/farms')).status, 401);
    assert.equal((await httpRequest(fg.adminUrl + '/admin', { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await httpRequest(fg.adminUrl + '/healthz')).status, 200, 'health needs no token');
    assert.equal((await admin('/admin/api/farms')).status, 200);
    const login = await httpRequest(fg.adminUrl + `/admin?token=${TOKEN}`);
    assert.equal(login.status, 303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    assert.match(login.headers.get('set-cookie')!, /HttpOnly; SameSite=Strict/);
    const page = await httpRequest(fg.adminUrl + '/admin', { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<h2>Farms<\/h2>/);
    const body = JSON.stringify({ handle: '/content/x' });
    assert.equal((await httpRequest(fg.adminUrl + '/admin/api/flush', { method: 'POST', headers: { cookie }, body })).status, 401, 'no cross-site POST');
    const ok = await httpRequest(fg.adminUrl + '/admin/api/flush', { method: 'POST', headers: { cookie, 'x-farmgate-admin': '1', 'content-type': 'application/json' }, body });
    assert.equal(ok.status, 200);
  });

  it('the admin API: farms, explain, flush and the recent flushes', async () => {
    const farms = JSON.parse(await (await admin('/admin/api/farms')).text()).farms;
    assert.equal(farms[0].name, 'site');
    assert.equal(farms[0].statfileslevel, 2);
    assert.ok(farms[0].hitRatio > 0 && farms[0].hitRatio < 1);
    assert.equal(typeof farms[0].cachedFiles, 'number');

    const report = JSON.parse(await (await admin('/admin/api/explain?handle=/content/site/en&action=Delete')).text());
    assert.equal(report.action, 'Delete');
    assert.equal(report.farms[0].farm, 'site');
    assert.deepEqual(report.farms[0].touches.map((t: { stat: string }) => t.stat), ['/.stat', '/content/.stat', '/content/site/.stat']);

    const bad = await admin('/admin/api/flush', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle: '/content/../etc' }) });
    assert.equal(bad.status, 400);
    const flushed = await admin('/admin/api/flush', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle: '/content/site/en', action: 'Activate', scope: 'ResourceOnly' }),
    });
    assert.equal(flushed.status, 200);
    assert.deepEqual(JSON.parse(await flushed.text()).farms[0].touched, []);

    const recent = JSON.parse(await (await admin('/admin/api/flushes')).text()).flushes;
    assert.equal(recent[0].handle, '/content/site/en');
    assert.equal(recent[0].scope, 'ResourceOnly');
    assert.equal(recent[0].origin, fg.config.server.name);
    assert.equal(recent[0].result, 'ok');

    const servers = JSON.parse(await (await admin('/admin/api/servers')).text()).servers;
    assert.equal(servers.length, 1, 'without propagation, this server alone');
    assert.equal((await admin('/admin/api/hold', { method: 'POST' })).status, 409, 'hold needs propagation');
  });

  it('the route table: 405 with Allow for a POST-only route, 404 elsewhere, 400 for a body that is not an object', async () => {
    const get = await admin('/admin/api/flush');
    assert.deepEqual([get.status, get.headers.get('allow')], [405, 'POST']);
    assert.equal((await admin('/admin/api/servers/web2/hold')).status, 405);
    const missing = await admin('/admin/api/nope');
    assert.deepEqual([missing.status, await missing.text()], [404, 'not found\n']);
    for (const body of ['[1, 2]', '{not json', JSON.stringify({ handle: 'x'.repeat(70_000) })]) {
      const r = await admin('/admin/api/explain', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(r.status, 400, body.slice(0, 20));
      assert.equal(JSON.parse(await r.text()).code, 'FG_ADMIN_BAD_INPUT');
    }
    const form = await admin('/admin/api/explain', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'handle=%2Fcontent%2Fsite%2Fen' });
    assert.equal(JSON.parse(await form.text()).handle, '/content/site/en');
    assert.equal((await httpRequest(fg.adminUrl! + '/admin/api/flushes', { method: 'POST', body: '{}' })).status, 401, 'a stranger\'s body is never read');
  });
});
