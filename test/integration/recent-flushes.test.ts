/**
 * The recent flushes (`/admin/api/flushes`, the admin page) list every flush this server saw, the
 * ones a user looks for when a page did not update included: refused before anything was done
 * (403 client, 400 bad headers, 405 method, 413 too large, 408 slow body; the invalidation API's
 * 401; an unknown webhook), Test, and unrouted (issue 14), each with the status the sender got
 * and the reason.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const SECRET = 'recent-secret-0123456789abcdef';

/** A flush from a given local address (127.0.0.2 is not in allowedClients). */
function flushFrom(fg: TestFarmgate, localAddress: string, headers: Record<string, string>, method = 'POST'): Promise<number> {
  const u = new URL(fg.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: '/dispatcher/invalidate.cache', method, localAddress, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A flush whose body never finishes: answered 408 after headersTimeoutMs. */
function slowBody(fg: TestFarmgate): Promise<string> {
  const u = new URL(fg.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname, () => {
      socket.write('POST /dispatcher/invalidate.cache HTTP/1.1\r\nHost: x\r\nCQ-Handle: /content/site/slow\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n/content/site/a');
    });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('recent flushes: refused, Test and unrouted ones, with the reason', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender();
    const yaml = oneFarmYaml(render.url, {}, `invalidation:\n  api:\n    secret: "${SECRET}"\n`).replace('  listen: "127.0.0.1:0"', '  listen: "127.0.0.1:0"\n  limits:\n    flushBodyBytes: 1000\n    headersTimeoutMs: 1500');
    fg = await startFarmgate(yaml, { admin: true });
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('lists each with the status the sender got and why', async () => {
    assert.equal(await flushFrom(fg, '127.0.0.2', { 'CQ-Handle': '/content/site/en/secret' }), 403);
    assert.equal(await flushFrom(fg, '127.0.0.1', { 'CQ-Action': 'Purge', 'CQ-Handle': '/content/site/en' }), 400);
    assert.equal(await flushFrom(fg, '127.0.0.1', { 'CQ-Handle': '/content/../etc/passwd' }), 400);
    assert.equal(await flushFrom(fg, '127.0.0.1', { 'CQ-Handle': '/content/site/en' }, 'PUT'), 405);
    assert.equal(await flushFrom(fg, '127.0.0.1', { 'CQ-Handle': '/content/site/en', 'Content-Type': 'text/plain', 'Content-Length': '5000' }), 413);
    assert.match(await slowBody(fg), /^HTTP\/1\.1 408 /);
    assert.equal(await flushFrom(fg, '127.0.0.1', { 'CQ-Action': 'Test', 'CQ-Handle': '/content/site/en' }), 200);
    assert.equal(await flushFrom(fg, '127.0.0.1', { 'CQ-Handle': '/etc/unrouted' }), 200);
    assert.equal(await flushFrom(fg, '127.0.0.1', { 'CQ-Handle': '/content/site/en/page' }), 200);
    const api = await fg.request('/farmgate/v1/invalidate', { method: 'POST', headers: { 'content-type': 'application/json', 'x-farmgate-signature': 'sha256=00' }, body: '{"tags":["x"]}' });
    assert.equal(api.status, 401);
    assert.equal((await fg.request('/farmgate/v1/webhooks/nobody', { method: 'POST', body: '{}' })).status, 404);

    const { flushes } = JSON.parse(await (await fetch(`${fg.adminUrl}/admin/api/flushes`)).text()) as { flushes: Record<string, unknown>[] };
    const rows = flushes.map((f) => [f.door, f.client, f.action, f.handle, f.outcome, f.status, f.result]);
    assert.deepEqual(rows.reverse(), [
      ['http', '127.0.0.2', 'Activate', '/content/site/en/secret', 'refused', 403, 'flush not allowed from 127.0.0.2'],
      ['http', '127.0.0.1', 'Purge', '/content/site/en', 'refused', 400, 'unknown CQ-Action "Purge" (expected Activate, Deactivate, Delete or Test)'],
      ['http', '127.0.0.1', 'Activate', '/content/../etc/passwd', 'refused', 400, rows[2]![6]],
      ['http', '127.0.0.1', 'Activate', '/content/site/en', 'refused', 405, 'method PUT not allowed for flushes (GET, POST)'],
      ['http', '127.0.0.1', 'Activate', '/content/site/en', 'refused', 413, 'flush body too large: 5000 bytes (limit 1000)'],
      ['http', '127.0.0.1', 'Activate', '/content/site/slow', 'refused', 408, 'flush body not received within 1500 ms'],
      ['http', '127.0.0.1', 'Test', '/content/site/en', 'test', 200, 'Test: nothing done'],
      ['http', '127.0.0.1', 'Activate', '/etc/unrouted', 'unrouted', 200, 'no farm routes CQ-Path /etc/unrouted: nothing done'],
      ['http', '127.0.0.1', 'Activate', '/content/site/en/page', 'applied', 200, 'ok'],
      ['api', '127.0.0.1', 'invalidate', '', 'refused', 401, rows[9]![6]],
      ['webhook', 'webhook:unknown', 'invalidate', '', 'refused', 404, 'no webhook named "nobody" (see invalidation.webhooks)'],
    ]);
    assert.match(String(rows[2]![6]), /invalid CQ-Handle "\/content\/\.\.\/etc\/passwd"/);
    assert.match(String(rows[9]![6]), /signature/i);

    // The page shows the same lines, the reason in the result column.
    const html = await (await fetch(`${fg.adminUrl}/admin`)).text();
    assert.match(html, /<tr data-outcome="refused" data-status="403">[\s\S]*?127\.0\.0\.2[\s\S]*?refused · 403: flush not allowed from 127\.0\.0\.2/);
    assert.match(html, /<tr data-outcome="unrouted" data-status="200">[\s\S]*?<em>unrouted<\/em>[\s\S]*?no farm routes CQ-Path \/etc\/unrouted/);
    assert.match(html, /<tr data-outcome="test" data-status="200">[\s\S]*?Test: nothing done/);
    assert.match(html, /refused · 400: unknown CQ-Action &quot;Purge&quot;/);
  });
});
