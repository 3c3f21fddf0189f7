// The proxying part of the configurations `farmgate front nginx|apache` writes, run for real: a
// plain node:http server stands in for farmgate and reports what reached it. (No request here is
// a cached page: the hits themselves are test/conformance/'s.)

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';

import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { tempDir } from '../helpers/farmgate.js';
import { hasBinary, startFront, type FrontServer } from '../../support/front-servers.js';

// ------------------------------------------------------------------ stand-in farmgate

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyLength: number;
  bodySha256: string;
  socket: Socket;
}

const BIG = randomBytes(5 * 1024 * 1024);
const BIG_SHA = sha256(BIG);
const PAGE = Buffer.from(`<!doctype html><html><body>${'<p>farmgate cached page</p>\n'.repeat(400)}</body></html>`);

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

class Upstream {
  readonly seen: Seen[] = [];
  private server = http.createServer((req, res) => this.handle(req, res));
  port = 0;

  async start(): Promise<void> {
    this.server.keepAliveTimeout = 75_000; // as farmgate's public listener
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const seen: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyLength: body.length,
        bodySha256: sha256(body),
        socket: req.socket,
      };
      this.seen.push(seen);
      res.setHeader('X-Cache', 'MISS');
      if (req.url === '/big.html') {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': BIG.length });
        res.end(BIG);
        return;
      }
      if (req.url === '/page.html') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': PAGE.length });
        res.end(PAGE);
        return;
      }
      const json = JSON.stringify({
        method: seen.method,
        url: seen.url,
        host: req.headers.host,
        'x-forwarded-for': req.headers['x-forwarded-for'],
        'x-forwarded-proto': req.headers['x-forwarded-proto'],
        'x-forwarded-host': req.headers['x-forwarded-host'],
        connection: req.headers.connection,
        headers: req.headers,
        body: body.toString('utf8'),
      });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(json);
    });
  }
}

// ------------------------------------------------------------------ client

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(url: string, opts: http.RequestOptions & { body?: Buffer | string; timeoutMs?: number } = {}): Promise<Reply> {
  const { body, timeoutMs = 10_000, ...reqOpts } = opts;
  return new Promise((resolve, reject) => {
    const req = http.request(url, reqOpts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function json(r: Reply): Record<string, unknown> & { headers: http.IncomingHttpHeaders } {
  assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString().slice(0, 500)}`);
  return JSON.parse(r.body.toString('utf8')) as Record<string, unknown> & { headers: http.IncomingHttpHeaders };
}

// ------------------------------------------------------------------ the suites

interface Kind {
  name: 'nginx' | 'apache';
  binary: string;
  missing: string;
}

const kinds: Kind[] = [
  { name: 'nginx', binary: 'nginx', missing: 'nginx not installed: run apt-get install nginx libnginx-mod-http-lua (the .ci/run does)' },
  { name: 'apache', binary: 'apache2', missing: 'apache2 not installed: run apt-get install apache2 (the .ci/run does)' },
];

/** A farmgate config for the stand-in: one farm (no request below is for its host). */
async function standInConfig(dir: string): Promise<Config> {
  const file = path.join(dir, 'farmgate.yaml');
  await fs.writeFile(file, `farms:
  - name: site-a
    virtualhosts: ["site-a.local"]
    docroot: ./docroot
    renders: [{ url: "http://127.0.0.1:1" }]
    flushRoutes: ["/content/site-a/**"]
`);
  return loadConfig(file);
}

for (const kind of kinds) {
  describe(`${kind.name} in front of farmgate`, { timeout: 60_000 }, () => {
    const upstream = new Upstream();
    let front: FrontServer | undefined;
    let proxyOnly: FrontServer | undefined;
    let dir = '';
    const installed = hasBinary(kind.binary);

    function need(s: FrontServer | undefined): FrontServer {
      if (!installed) assert.fail(kind.missing);
      assert.ok(s, `${kind.name} did not start (see the before hook's error)`);
      return s;
    }

    before(async () => {
      await upstream.start();
      if (!installed) return;
      dir = await tempDir();
      const config = await standInConfig(dir);
      front = await startFront(kind.name, { config, upstream: `127.0.0.1:${upstream.port}` });
      proxyOnly = await startFront(kind.name, { config, upstream: `127.0.0.1:${upstream.port}`, proxyOnly: true });
    });

    after(async () => {
      await Promise.all([front?.stop(), proxyOnly?.stop()]);
      await upstream.stop();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    it('passes the config test and runs (started with -t first)', () => {
      const f = need(front);
      assert.ok(f.pid > 0);
      assert.match(f.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    });

    it('forwards GET with Host (and its port) preserved and X-Forwarded-* set', async () => {
      const f = need(front);
      const r = json(await request(`${f.url}/content/site-a/en.html?x=1`));
      assert.equal(r.method, 'GET');
      assert.equal(r.url, '/content/site-a/en.html?x=1');
      assert.equal(r.host, `127.0.0.1:${f.port}`);
      assert.equal(r['x-forwarded-for'], '127.0.0.1');
      assert.equal(r['x-forwarded-proto'], 'http');
      assert.equal(r['x-forwarded-host'], `127.0.0.1:${f.port}`);
      assert.notEqual(String(r.connection ?? '').toLowerCase(), 'close', 'upstream connection must be kept alive');

      const named = json(await request(`${f.url}/x.html`, { headers: { Host: 'site-a.local:8443' } }));
      assert.equal(named.host, 'site-a.local:8443');
      assert.equal(named['x-forwarded-host'], 'site-a.local:8443');
    });

    it('appends the client address to a client-sent X-Forwarded-For', async () => {
      const f = need(front);
      const r = json(await request(`${f.url}/xff.html`, { headers: { 'X-Forwarded-For': '6.6.6.6' } }));
      assert.equal(r['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
      const r2 = json(await request(`${f.url}/xff.html`, {
        headers: { 'X-Forwarded-For': '6.6.6.6, 10.1.2.3', 'X-Forwarded-Proto': 'https' },
      }));
      assert.equal(r2['x-forwarded-for'], '6.6.6.6, 10.1.2.3, 127.0.0.1');
      assert.equal(r2['x-forwarded-proto'], 'http', 'a client cannot claim https');
    });

    it('passes X-Cache through and gzips text/html for clients that accept it', async () => {
      const f = need(front);
      const plain = await request(`${f.url}/page.html`);
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['x-cache'], 'MISS');
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.ok(plain.body.equals(PAGE));

      const gz = await request(`${f.url}/page.html`, { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(gz.status, 200);
      assert.equal(gz.headers['x-cache'], 'MISS');
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.ok(gz.body.length < PAGE.length / 4, `gzip body ${gz.body.length} bytes`);
      assert.ok(gunzipSync(gz.body).equals(PAGE));
    });

    it('passes a flush POST with CQ-* headers and a 100 KB text/plain body intact', async () => {
      const f = need(front);
      let text = '';
      for (let i = 0; text.length < 100 * 1024; i++) text += `/content/site-a/en/page-${String(i).padStart(5, '0')}.html\n`;
      const body = Buffer.from(text);
      const before = upstream.seen.length;
      const r = json(await request(`${f.url}/dispatcher/invalidate.cache`, {
        method: 'POST',
        headers: {
          'CQ-Action': 'Activate',
          'CQ-Handle': '/content/site-a/en/page',
          'CQ-Path': '/content/site-a/en/page',
          'CQ-Action-Scope': 'ResourceOnly',
          'Content-Type': 'text/plain',
          'Content-Length': body.length,
        },
        body,
      }));
      assert.equal(upstream.seen.length, before + 1);
      const seen = upstream.seen.at(-1) as Seen;
      assert.equal(seen.method, 'POST');
      assert.equal(seen.url, '/dispatcher/invalidate.cache');
      assert.equal(seen.headers['cq-action'], 'Activate');
      assert.equal(seen.headers['cq-handle'], '/content/site-a/en/page');
      assert.equal(seen.headers['cq-path'], '/content/site-a/en/page');
      assert.equal(seen.headers['cq-action-scope'], 'ResourceOnly');
      assert.equal(seen.headers['content-type'], 'text/plain');
      assert.equal(seen.bodyLength, body.length);
      assert.equal(seen.bodySha256, sha256(body));
      assert.equal(r.body, body.toString('utf8'));
      assert.equal(r['x-forwarded-for'], '127.0.0.1');
    });

    it('refuses a flush body over 2 MB before farmgate sees it (413)', async () => {
      const f = need(front);
      const before = upstream.seen.length;
      const status = await new Promise<number>((resolve, reject) => {
        // Announce 3 MB but send nothing: the front server must answer from the headers.
        const req = http.request(`${f.url}/dispatcher/invalidate.cache`, {
          method: 'POST',
          headers: { 'CQ-Action': 'Activate', 'CQ-Handle': '/content/site-a', 'Content-Type': 'text/plain', 'Content-Length': 3 * 1024 * 1024 },
        }, (res) => { res.resume(); resolve(res.statusCode ?? 0); req.destroy(); });
        req.setTimeout(10_000, () => req.destroy(new Error('no answer to an oversized flush within 10 s')));
        req.on('error', reject);
        req.flushHeaders();
      });
      assert.equal(status, 413);
      assert.equal(upstream.seen.length, before);
    });

    it('streams a 5 MB page completely', async () => {
      const f = need(front);
      const r = await request(`${f.url}/big.html`, { timeoutMs: 20_000 });
      assert.equal(r.status, 200);
      assert.equal(r.body.length, BIG.length);
      assert.equal(sha256(r.body), BIG_SHA);
      assert.equal(r.headers['x-cache'], 'MISS');
    });

    if (kind.name === 'nginx') {
      it('answers /nginx-health itself', async () => {
        const f = need(front);
        const before = upstream.seen.length;
        const r = await request(`${f.url}/nginx-health`);
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), 'ok');
        assert.equal(upstream.seen.length, before);
      });
    }

    it('does not reveal its version', async () => {
      const f = need(front);
      const r = await request(`${f.url}/page.html`);
      assert.ok(!/\d/.test(String(r.headers.server ?? '')), `Server: ${String(r.headers.server)}`);
    });

    it('--proxy-only: every request is proxied, the URL exactly as sent, even a fresh cached page', async () => {
      const p = need(proxyOnly);
      const doc = path.join(dir, 'docroot', 'content/site-a');
      await fs.mkdir(doc, { recursive: true });
      await fs.writeFile(path.join(doc, 'en.html'), 'cached');
      const before = upstream.seen.length;
      const r = json(await request(`${p.url}/content/site-a/en.html`, { headers: { Host: 'site-a.local' } }));
      assert.equal(r.url, '/content/site-a/en.html');
      const raw = json(await request(`${p.url}/content/a%2Fb//c.html`));
      assert.equal(raw.url, '/content/a%2Fb//c.html');
      assert.equal(upstream.seen.length, before + 2);
    });

    it('reuses upstream connections: 2,000 keep-alive requests over few sockets', { timeout: 45_000 }, async () => {
      const f = need(front);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const seenBefore = upstream.seen.length;
        for (let i = 0; i < 2000; i++) {
          const r = await request(`${f.url}/ka/${i}.html`, { agent });
          assert.equal(r.status, 200, `request ${i}: ${r.status}`);
        }
        assert.equal(upstream.seen.length, seenBefore + 2000);
        const used = new Set(upstream.seen.slice(seenBefore).map((x) => x.socket));
        assert.ok(used.size < 50, `upstream saw ${used.size} distinct sockets for 2,000 requests`);
      } finally {
        agent.destroy();
      }
    });
  });
}
