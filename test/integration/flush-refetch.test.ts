/**
 * Invalidate-and-refetch: after the invalidation and before the 200, each URI is fetched through
 * the injected Refetcher (here a small one reading a render on 127.0.0.1:0 and writing through
 * the cache store), with per-URI results; a failed URI still answers 200. Body and URI caps → 413.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { FlushResponseJson } from '../../src/flush/respond.js';
import type { Refetcher } from '../../src/flush/types.js';
import { exists, makeConfig, seed, tempDir, tree } from '../helpers/flush-fixtures.js';
import { sendFlush, startFlushServer, type FlushServer } from '../helpers/flush-server.js';

const FILES = ['/content/site/en.html', '/content/site/en/page.html', '/content/site/en/other.html'];
let base: string;
let docroot: string;
let render: Server;
let renderUrl: string;
let srv: FlushServer | undefined;
let inFlight = 0;
let maxInFlight = 0;

before(async () => {
  base = await tempDir();
  render = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      if (req.url?.includes('broken')) {
        res.statusCode = 500;
        res.end('render error');
      } else {
        res.setHeader('Content-Type', 'text/html');
        res.end(`fresh ${req.url}`);
      }
    }, 15);
  });
  render.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => render.listen(0, '127.0.0.1', resolve));
  renderUrl = `http://127.0.0.1:${(render.address() as AddressInfo).port}`;
});
after(async () => {
  render.closeAllConnections();
  await new Promise((resolve) => render.close(resolve));
  await fs.rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  docroot = path.join(base, `d${Date.now()}${Math.random()}`);
  await seed(docroot, FILES);
  maxInFlight = 0;
});
afterEach(async () => srv?.close());

interface Call {
  uri: string;
  handleGoneAtCall: boolean;
  statAtCall: boolean;
}

function fakeRefetcher(calls: Call[]): Refetcher {
  return async (rt, farm, uri) => {
    calls.push({
      uri,
      handleGoneAtCall: !(await exists(path.join(farm.docroot, 'content/site/en/page.html'))),
      statAtCall: await exists(path.join(farm.docroot, '.stat')),
    });
    const startedAt = Date.now();
    const res = await fetch(farm.config.renders[0]!.url + uri);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) return { uri, ok: false, status: res.status, error: `render answered ${res.status}` };
    const write = rt.cacheFor(farm).beginWrite(uri.split('?')[0]!, startedAt);
    write.write(body);
    const ok = await write.commit({ headers: [['content-type', res.headers.get('content-type') ?? 'text/html']], ttlExpiresMs: undefined });
    return { uri, ok, status: res.status };
  };
}

function start(calls: Call[], limits?: { flushBodyBytes?: number; refetchUris?: number }) {
  const config = makeConfig({
    ...(limits ? { limits } : {}),
    farms: [{ name: 'site', docroot, statfileslevel: 2, flushRoutes: ['/content/**'], renders: [renderUrl] }],
  });
  return startFlushServer(config, { refetch: fakeRefetcher(calls) });
}

const refetchHeaders = { 'CQ-Action': 'Activate', 'CQ-Handle': '/content/site/en/page', 'Content-Type': 'text/plain' };

describe('invalidate-and-refetch', () => {
  it('refetches each URI after the invalidation, before the 200; content replaced; failures listed', async () => {
    const calls: Call[] = [];
    srv = await start(calls);
    const r = await sendFlush(srv, refetchHeaders, {
      json: true,
      body: '/content/site/en.html\n\n/content/site/en/page.html\n/content/site/broken.html\n',
    });
    assert.equal(r.status, 200, 'a failed URI still answers 200');
    // Refetches run concurrently (bounded): every URI once, in any order; results keep the body's order.
    assert.deepEqual(calls.map((c) => c.uri).sort(), ['/content/site/broken.html', '/content/site/en.html', '/content/site/en/page.html']);
    assert.ok(calls.every((c) => c.handleGoneAtCall && c.statAtCall), 'refetch runs after the invalidation');
    const body = JSON.parse(r.text) as FlushResponseJson;
    assert.deepEqual(body.farms[0]!.refetch, [
      { uri: '/content/site/en.html', ok: true, status: 200 },
      { uri: '/content/site/en/page.html', ok: true, status: 200 },
      { uri: '/content/site/broken.html', ok: false, status: 500, error: 'render answered 500' },
    ]);
    assert.equal(await fs.readFile(path.join(docroot, 'content/site/en.html'), 'utf8'), 'fresh /content/site/en.html');
    assert.equal(await fs.readFile(path.join(docroot, 'content/site/en/page.html'), 'utf8'), 'fresh /content/site/en/page.html');
    // The refetched copy is newer than the .stat the flush touched: fresh, and in the hot layer.
    const cache = srv.rt.cacheFor(srv.rt.farms[0]!);
    const hit = await cache.lookup('/content/site/en.html', 60_000);
    assert.equal(hit?.body?.toString(), 'fresh /content/site/en.html');
    assert.ok(srv.logs.some((l) => l.msg === 'refetch failed' && l.uri === '/content/site/broken.html'));
  });

  it('bounded concurrency (at most 8 at once)', async () => {
    const calls: Call[] = [];
    srv = await start(calls);
    const uris = Array.from({ length: 20 }, (_, i) => `/content/site/p${i}.html`);
    const r = await sendFlush(srv, refetchHeaders, { body: uris.join('\n') });
    assert.equal(r.status, 200);
    assert.equal(calls.length, 20);
    assert.ok(maxInFlight > 1 && maxInFlight <= 8, `max in flight ${maxInFlight}`);
  });

  it('more URIs than limits.refetchUris → 413, nothing touched, nothing fetched', async () => {
    const calls: Call[] = [];
    srv = await start(calls, { refetchUris: 3 });
    const r = await sendFlush(srv, refetchHeaders, { body: '/a.html\n/b.html\n/c.html\n/d.html\n' });
    assert.equal(r.status, 413);
    assert.match(r.text, /too many refetch URIs: 4 \(limit 3\)/);
    assert.equal(calls.length, 0);
    assert.deepEqual(await tree(docroot), FILES.slice().sort());
  });

  it('a body over limits.flushBodyBytes → 413 (declared length and chunked), nothing touched', async () => {
    const calls: Call[] = [];
    srv = await start(calls, { flushBodyBytes: 1024 });
    const big = '/content/site/en.html\n'.repeat(100);
    const declared = await sendFlush(srv, refetchHeaders, { body: big });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.get('connection'), 'close');
    const chunks = [Buffer.from(big.slice(0, 800)), Buffer.from(big.slice(800))];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const chunked = await sendFlush(srv, refetchHeaders, { body: stream });
    assert.equal(chunked.status, 413);
    assert.match(chunked.text, /flush body too large/);
    assert.equal(calls.length, 0);
    assert.deepEqual(await tree(docroot), FILES.slice().sort());
  });

  it('a bad refetch URI → 400 before anything is touched', async () => {
    srv = await start([]);
    const r = await sendFlush(srv, refetchHeaders, { body: '/content/site/en.html\n/content/../../etc/passwd\n' });
    assert.equal(r.status, 400);
    assert.deepEqual(await tree(docroot), FILES.slice().sort());
  });
});
