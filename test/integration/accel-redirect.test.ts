// server.accelRedirect (opt-in): a fresh HIT asked for by nginx is handed back to nginx with
// X-Accel-Redirect, and nginx sends the file from an internal location on the docroot. The
// client sees the same status, body, X-Cache and stored headers as without it.

import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { startNginxProxy } from '../../bench/fronts.js';
import type { Nginx } from '../../bench/lib.js';
import { startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { binaryPath } from '../../support/front-servers.js';
import { startRender, type TestRender } from '../helpers/render.js';

const PREFIX = '/_farmgate_docroot';
const PAGE = `<html>${'accel '.repeat(3000)}</html>`;

function get(port: number, p: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, headers: { host: 'site.local', ...headers }, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('server.accelRedirect', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  let nginx: Nginx;

  before(async () => {
    render = await startRender((req) => ({
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'max-age=60',
        etag: '"v1"',
        'last-modified': 'Tue, 01 Sep 2026 10:00:00 GMT',
        ...(req.url?.startsWith('/custom') ? { 'x-custom': 'kept' } : {}),
      },
      body: PAGE,
    }));
    fg = await startFarmgate(`server:
  listen: "127.0.0.1:0"
  accelRedirect: { prefix: "${PREFIX}" }
farms:
  - name: site
    virtualhosts: ["site.local"]
    docroot: ./docroot
    renders: [{ url: "${render.url}" }]
    cache:
      headers: [Content-Type, Cache-Control, ETag, Last-Modified, X-Custom]
    flushRoutes: ["/**"]
`);
    // nginx's workers read the docroot themselves (as nobody when started as root).
    await chmod(fg.dir, 0o755);
    const port = Number(new URL(fg.url).port);
    const nginxBin = binaryPath('nginx');
    assert.ok(nginxBin, 'nginx not installed (apt-get install nginx)');
    nginx = await startNginxProxy({ nginx: nginxBin, wrk: '', taskset: undefined, redis: undefined }, fg.config, port, 1, {
      prefix: PREFIX,
      farms: [{ name: 'site', docroot: fg.docroot('site') }],
    });
  });

  after(async () => {
    await nginx?.stop();
    await fg?.close();
    await render?.close();
  });

  it('answers a HIT with X-Accel-Redirect only when a trusted proxy asks for it', async () => {
    const port = Number(new URL(fg.url).port);
    const miss = await get(port, '/content/a.html', { 'x-farmgate-accel': '1' });
    assert.equal(miss.headers['x-cache'], 'MISS');
    assert.equal(miss.body, PAGE);
    const plain = await get(port, '/content/a.html');
    assert.equal(plain.headers['x-cache'], 'HIT');
    assert.equal(plain.body, PAGE);
    assert.equal(plain.headers['x-accel-redirect'], undefined);
    const accel = await get(port, '/content/a.html', { 'x-farmgate-accel': '1' });
    assert.equal(accel.status, 200);
    assert.equal(accel.headers['x-cache'], 'HIT');
    assert.equal(accel.headers['x-accel-redirect'], `${PREFIX}/site/content/a.html`);
    assert.equal(accel.headers['content-length'], '0');
    assert.equal(accel.body, '');
    assert.equal(accel.headers.etag, '"v1"');
    assert.equal(accel.headers['cache-control'], 'max-age=60');
  });

  it('through nginx: same body, X-Cache and stored headers as without it', async () => {
    await get(nginx.port, '/content/b.html');
    const r = await get(nginx.port, '/content/b.html');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-cache'], 'HIT');
    assert.equal(r.body, PAGE);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'max-age=60');
    assert.equal(r.headers.etag, '"v1"');
    assert.equal(r.headers['last-modified'], 'Tue, 01 Sep 2026 10:00:00 GMT');
    assert.equal(r.headers['accept-ranges'], undefined);
    assert.equal(render.count('/content/b.html'), 1);
  });

  it('conditional requests are answered by farmgate (304), not by nginx from the file', async () => {
    await get(nginx.port, '/content/c.html');
    const r = await get(nginx.port, '/content/c.html', { 'if-none-match': '"v1"' });
    assert.equal(r.status, 304);
    assert.equal(r.headers['x-cache'], 'HIT');
  });

  it('a file with a stored header nginx would drop is sent by farmgate', async () => {
    await get(nginx.port, '/custom.html');
    const r = await get(nginx.port, '/custom.html');
    assert.equal(r.headers['x-cache'], 'HIT');
    assert.equal(r.headers['x-custom'], 'kept');
    assert.equal(r.body, PAGE);
  });

  it('a flushed page is a MISS again, never the old file', async () => {
    await get(nginx.port, '/content/d.html');
    assert.equal((await get(nginx.port, '/content/d.html')).headers['x-cache'], 'HIT');
    const f = await get(Number(new URL(fg.url).port), '/dispatcher/invalidate.cache', { 'cq-action': 'Activate', 'cq-handle': '/content/d' });
    assert.equal(f.status, 200);
    const r = await get(nginx.port, '/content/d.html');
    assert.equal(r.headers['x-cache'], 'MISS');
    assert.equal(render.count('/content/d.html'), 2);
  });
});
