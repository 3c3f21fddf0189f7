/**
 * What crosses between client, farmgate and render (contract section 3), with a real farmgate,
 * real renders, real nginx:
 *
 * - only the request headers `clientHeaders` names reach the render (plus those farmgate sets),
 *   and the cache key never depends on the others;
 * - `connectTimeoutMs` bounds connecting to a render (an https render whose TLS handshake never
 *   comes), which then counts as unreachable and the next render answers;
 * - a HIT never carries a second Content-Length (or Transfer-Encoding, Connection, X-Cache)
 *   from its `.h` file, even when `cache.headers` lists them or an old `.h` holds them: the
 *   response stays well-formed, also through nginx, where a duplicate used to become a 502.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasBinary, startFront, type FrontServer } from '../../support/front-servers.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

/** A GET on a fresh connection, with the raw header lines as they came off the wire. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; rawHeaders: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const count = (raw: string[], name: string) => raw.filter((v, i) => i % 2 === 0 && v.toLowerCase() === name).length;

describe('clientHeaders: only the listed request headers reach the render', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender();
    const yaml = oneFarmYaml(render.url).replace('    cache:', '    clientHeaders: [Referer, cookie, Accept-Language]\n    cache:');
    fg = await startFarmgate(yaml);
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('a cache fill carries the listed headers and those farmgate sets, nothing else', async () => {
    const r = await fg.request('/content/a.html', {
      host: 'site.local',
      headers: { referer: 'http://x/', cookie: 'a=1', 'x-debug': 'poison', 'user-agent': 'ua', 'accept-language': 'de' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-cache'), 'MISS');
    const seen = render.requests.at(-1)!.headers;
    assert.equal(seen['referer'], 'http://x/');
    assert.equal(seen['cookie'], 'a=1');
    assert.equal(seen['accept-language'], 'de');
    assert.equal(seen['x-debug'], undefined);
    assert.equal(seen['user-agent'], undefined);
    assert.equal(seen['server-agent'], 'Communique-Dispatcher');
    assert.equal(seen['x-forwarded-host'], 'site.local');
    assert.match(String(seen['x-forwarded-for']), /127\.0\.0\.1/);
  });

  it('the cache key never depends on the other headers: a different X-Debug is a HIT of the same file', async () => {
    const r = await fg.request('/content/a.html', { host: 'site.local', headers: { 'x-debug': 'other', 'user-agent': 'ub' } });
    assert.equal(r.headers.get('x-cache'), 'HIT');
    assert.equal(render.count('/content/a.html'), 1);
  });

  it('a request that passes (not cacheable) is filtered the same way; a body keeps its framing', async () => {
    const r = await fg.request('/content/form.html', {
      host: 'site.local',
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-debug': 'poison', referer: 'r' },
      body: 'hello',
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-cache'), 'PASS');
    const seen = render.requests.at(-1)!.headers;
    assert.equal(seen['x-debug'], undefined);
    assert.equal(seen['content-type'], undefined, 'not listed');
    assert.equal(seen['referer'], 'r');
    assert.equal(seen['content-length'], '5');
  });
});

describe('connectTimeoutMs: a render that never finishes connecting counts as unreachable', () => {
  let silent: net.Server;
  const sockets = new Set<net.Socket>();
  let render: TestRender;
  before(async () => {
    // Accepts TCP and never speaks: an https render's TLS handshake hangs there.
    silent = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    render = await startRender();
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
    await render.close();
  });
  const silentUrl = () => `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;

  it('alone: 502 after connectTimeoutMs (not 504 after timeoutMs), naming the timeout', async () => {
    const yaml = oneFarmYaml(silentUrl()).replace('        timeoutMs: 2000', '        connectTimeoutMs: 250\n        timeoutMs: 60000');
    const fg = await startFarmgate(yaml);
    try {
      const r = await fg.request('/content/a.html', { host: 'site.local' });
      assert.equal(r.status, 502);
      assert.match(await r.text(), /timeout: 250ms/);
    } finally {
      await fg.close();
    }
  });

  it('with a second render: the request is answered by the next render', async () => {
    const yaml = oneFarmYaml(silentUrl())
      .replace('        timeoutMs: 2000', `        connectTimeoutMs: 250\n        timeoutMs: 60000\n      - url: ${render.url}`)
      .replace('    cache:', '    retryDelayMs: 60000\n    cache:');
    const fg = await startFarmgate(yaml);
    try {
      const a = await fg.request('/content/b.html', { host: 'site.local' });
      assert.equal(a.status, 200);
      assert.match(await a.text(), /\/content\/b\.html render 1/);
      const b = await fg.request('/content/c.html', { host: 'site.local' });
      assert.equal(b.status, 200, 'the silent render is skipped for retryDelayMs');
    } finally {
      await fg.close();
    }
  });
});

describe('a HIT is well-formed whatever cache.headers and the .h file hold', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  let nginx: FrontServer | undefined;
  before(async () => {
    render = await startRender((req) => ({
      headers: { 'content-type': 'text/html', 'x-cache': 'from-render', connection: 'keep-alive' },
      body: `<p>${req.url}</p>`,
    }));
    // As asset-share-commons lists them (check warns; serving ignores them).
    fg = await startFarmgate(oneFarmYaml(render.url, { headers: ['Content-Type', 'Content-Length', 'Transfer-Encoding', 'Connection', 'X-Cache'] }));
    if (hasBinary('nginx')) {
      await fs.chmod(fg.dir, 0o755); // the front's workers read the docroot
      nginx = await startFront('nginx', { config: fg.config, upstream: `127.0.0.1:${new URL(fg.url).port}` });
    }
  });
  after(async () => {
    await nginx?.stop();
    await fg.close();
    await render.close();
  });

  it('the .h file never stores what farmgate sets itself', async () => {
    const miss = await rawGet(`${fg.url}/content/page.html`, { host: 'site.local' });
    assert.equal(miss.status, 200);
    const h = JSON.parse(await fs.readFile(path.join(fg.docroot('site'), 'content/page.html.h'), 'utf8')) as { headers: [string, string][] };
    assert.deepEqual(h.headers.map(([n]) => n.toLowerCase()), ['content-type']);
  });

  it('an old .h holding Content-Length, Transfer-Encoding, Connection and X-Cache: one of each, from farmgate', async () => {
    await rawGet(`${fg.url}/content/old.html`, { host: 'site.local' });
    const file = path.join(fg.docroot('site'), 'content/old.html.h');
    const h = JSON.parse(await fs.readFile(file, 'utf8')) as { v: number; headers: [string, string][] };
    h.headers.push(['content-length', '99999'], ['transfer-encoding', 'chunked'], ['connection', 'close'], ['x-cache', 'HIT']);
    await fs.writeFile(file, JSON.stringify(h));
    // A changed .h is read with its file: touch the file so the next request reloads it.
    const now = new Date();
    await fs.utimes(path.join(fg.docroot('site'), 'content/old.html'), now, now);
    await fg.app.runtime().cacheFor(fg.app.runtime().farms[0]!).lookup('/content/old.html', 0);
    const hit = await rawGet(`${fg.url}/content/old.html`, { host: 'site.local' });
    assert.equal(hit.status, 200);
    assert.equal(hit.body, '<p>/content/old.html</p>');
    assert.equal(count(hit.rawHeaders, 'content-length'), 1);
    assert.equal(count(hit.rawHeaders, 'transfer-encoding'), 0);
    assert.equal(count(hit.rawHeaders, 'x-cache'), 1);
    assert.deepEqual(hit.rawHeaders.filter((_v, i) => i > 0 && hit.rawHeaders[i - 1]!.toLowerCase() === 'x-cache'), ['HIT']);
    assert.equal(hit.rawHeaders[hit.rawHeaders.findIndex((v) => v.toLowerCase() === 'content-length') + 1], String(Buffer.byteLength(hit.body)));
  });

  it('through nginx in front: 200 with the body, never a 502 (a stored Content-Length equal to the real one used to be sent twice)', async (t) => {
    if (!nginx) return t.skip('nginx is not installed');
    // What a pre-fix .h holds when cache.headers lists Content-Length: the same value again.
    await rawGet(`${fg.url}/content/dup.html`, { host: 'site.local' });
    const file = path.join(fg.docroot('site'), 'content/dup.html.h');
    const h = JSON.parse(await fs.readFile(file, 'utf8')) as { v: number; headers: [string, string][] };
    h.headers.push(['content-length', String(Buffer.byteLength('<p>/content/dup.html</p>'))]);
    await fs.writeFile(file, JSON.stringify(h));
    await fg.app.runtime().cacheFor(fg.app.runtime().farms[0]!).lookup('/content/dup.html', 0);
    for (const p of ['/content/page.html', '/content/old.html', '/content/dup.html']) {
      const r = await rawGet(`${nginx.url}${p}`, { host: 'site.local' });
      assert.equal(r.status, 200, p);
      assert.equal(r.body, `<p>${p}</p>`);
      assert.ok(count(r.rawHeaders, 'content-length') <= 1);
      assert.equal(count(r.rawHeaders, 'x-cache'), 1);
    }
  });
});
