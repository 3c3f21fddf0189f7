/**
 * The serving path on fakes (in-memory store, fake render, injected clock): what a request
 * becomes (HIT, MISS, STALE, PASS), one render request for concurrent misses, stale copies while
 * a refetch runs, flushes seen at once. No socket, no disk, no sleep: the fake render signals when
 * a request arrives and holds its answer until the test releases it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../src/errors.js';
import { createServeHandler } from '../../src/serve/handler.js';
import { FakeResponse, type FakeRequestInit } from '../fakes/http.js';
import { FakeRender } from '../fakes/render-client.js';
import { fakeRuntime, settle, type FakeRuntime } from '../fakes/runtime.js';

async function setup(cache: Record<string, unknown> = {}, extraYaml = '') {
  const f = await fakeRuntime(cache, extraYaml);
  const serve = createServeHandler({ getRuntime: () => f.rt, isTrustedPeer: () => false, now: f.clock.now });
  /** Starts a request; `done` resolves with the recorded response. */
  const start = (init: Partial<FakeRequestInit> & { url: string }) => {
    const { req, res, fake } = FakeResponse.for({ ...init, headers: { host: 'site.local', ...init.headers } });
    serve.handle(req, res);
    return fake.done.then(() => fake);
  };
  return { ...f, serve, start, get: (url: string, init: Partial<FakeRequestInit> = {}) => start({ url, ...init }) };
}

const xcache = (r: FakeResponse) => r.header('x-cache');

describe('serve handler', () => {
  it('a miss is fetched, stored and answered MISS; the next request is a HIT without the render', async () => {
    const { get, render, store, clock } = await setup();
    const first = await get('/content/a.html');
    assert.equal(first.statusCode, 200);
    assert.equal(xcache(first), 'MISS');
    assert.equal(first.body, '<html>/content/a.html render 1</html>');
    assert.equal(store.files.get('/content/a.html')?.mtimeMs, clock.now(), 'mtime = render start');
    const second = await get('/content/a.html');
    assert.equal(xcache(second), 'HIT');
    assert.equal(second.body, first.body);
    assert.equal(second.header('content-type'), 'text/html');
    assert.equal(render.count('/content/a.html'), 1);
  });

  it('concurrent misses for one file make one render request; the others wait for it', async () => {
    const { start, render } = await setup();
    const gate = FakeRender.gate();
    render.route('/content/busy.html', { body: 'busy page', until: gate.until });
    const a = start({ url: '/content/busy.html' });
    await render.arrived('/content/busy.html');
    const b = start({ url: '/content/busy.html' });
    const c = start({ url: '/content/busy.html', method: 'HEAD' });
    await settle();
    gate.release();
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    assert.deepEqual([ra.body, rb.body, rc.body], ['busy page', 'busy page', '']);
    assert.deepEqual([xcache(ra), xcache(rb), xcache(rc)], ['MISS', 'MISS', 'MISS']);
    assert.equal(render.count('/content/busy.html'), 1);
  });

  it('a stale file is re-fetched once; requests meanwhile get the stale copy', async () => {
    const { get, start, render, store, clock } = await setup();
    store.put('/content/s.html', 'old copy', clock.now() - 10_000, [['content-type', 'text/html']]);
    clock.advance(1);
    await store.touchStat('/', clock.now());
    clock.advance(1);
    const gate = FakeRender.gate();
    render.route('/content/s.html', { body: 'new copy', until: gate.until });
    const refetching = start({ url: '/content/s.html' });
    await render.arrived('/content/s.html');
    const meanwhile = await get('/content/s.html');
    assert.equal(xcache(meanwhile), 'STALE');
    assert.equal(meanwhile.body, 'old copy');
    gate.release();
    const fetched = await refetching;
    assert.equal(xcache(fetched), 'MISS');
    assert.equal(fetched.body, 'new copy');
    assert.equal(xcache(await get('/content/s.html')), 'HIT');
    assert.equal(render.count('/content/s.html'), 1);
  });

  it('a .stat newer than the file makes it stale only where cache.invalidate allows', async () => {
    const { get, store, clock } = await setup({ invalidate: [{ deny: '/**' }, { allow: '/**/*.html' }] });
    store.put('/content/p.html', 'page', clock.now() - 100);
    store.put('/content/p.json', 'json', clock.now() - 100);
    await store.touchStat('/content', clock.now());
    clock.advance(1);
    assert.equal(xcache(await get('/content/p.html')), 'MISS', 'invalidate allows *.html: stale, re-fetched');
    assert.equal(xcache(await get('/content/p.json')), 'HIT', 'outside invalidate: the .stat does not apply');
  });

  it('a flush while a render is in flight: the old render is not stored, later requests do not join it', async () => {
    const { start, get, render, store, clock } = await setup();
    const gate = FakeRender.gate();
    render.route('/content/f.html', (_req, n) => (n === 1 ? { body: 'before the flush', until: gate.until } : { body: 'after the flush' }));
    const early = start({ url: '/content/f.html' });
    await render.arrived('/content/f.html');
    clock.advance(5);
    await store.fence(['/content/f', '/content/f.']);
    clock.advance(5);
    const late = await get('/content/f.html');
    assert.equal(late.body, 'after the flush', 'a request after the flush fetches on its own');
    gate.release();
    assert.equal((await early).body, 'before the flush', 'the early client still gets its answer');
    assert.equal(store.files.get('/content/f.html')?.data.toString(), 'after the flush');
    assert.equal(render.count('/content/f.html'), 2);
  });

  it('answers before the cache are PASS: unknown host, internal names, bad paths, filtered', async () => {
    const { get, render } = await setup(
      {},
      `    filter:
      - allow: { path: "/content/**" }
      - deny: { path: "/content/secret/**" }
`,
    );
    const unknown = await get('/content/a.html', { headers: { host: 'other.example' } });
    assert.deepEqual([unknown.statusCode, xcache(unknown)], [404, 'PASS']);
    for (const url of ['/content/.stat', '/content/a.html.h', '/content/a.html.ttl', '/content/.fgtmp-a.html.1.1']) {
      const r = await get(url);
      assert.deepEqual([r.statusCode, xcache(r)], [404, 'PASS'], url);
    }
    const bad = await get('/content/%2e%2e/etc/passwd');
    assert.deepEqual([bad.statusCode, xcache(bad)], [400, 'PASS']);
    const filtered = await get('/content/secret/x.html');
    assert.deepEqual([filtered.statusCode, xcache(filtered)], [404, 'PASS']);
    assert.equal(render.requests.length, 0, 'none of them reached the render');
  });

  it('a request that is not cacheable streams to the render and back as PASS', async () => {
    const { get, render, store } = await setup();
    render.route('/content/search', { body: 'results', headers: { 'content-type': 'text/plain' } });
    const r = await get('/content/search?q=x');
    assert.deepEqual([r.statusCode, xcache(r), r.body], [200, 'PASS', 'results']);
    assert.equal(render.requests[0]!.path, '/content/search?q=x');
    assert.equal(store.files.size, 0);
  });

  it('a HEAD miss is fetched as GET, stored, and answered with headers only', async () => {
    const { get, render, store } = await setup();
    const r = await get('/content/h.html', { method: 'HEAD' });
    assert.deepEqual([r.statusCode, xcache(r), r.body], [200, 'MISS', '']);
    assert.equal(render.requests[0]!.method, 'GET');
    assert.ok(store.files.has('/content/h.html'));
  });

  it('render failures: 502 unreachable, 504 timeout, with a short reason', async () => {
    const { get, render } = await setup();
    render.route('/content/down.html', { error: new AppError('FG_RENDER_UNREACHABLE', 'no render reachable (ECONNREFUSED)') });
    render.route('/content/slow.html', { error: new AppError('FG_RENDER_TIMEOUT', 'render timed out') });
    const down = await get('/content/down.html');
    assert.deepEqual([down.statusCode, xcache(down)], [502, 'MISS']);
    assert.match(down.body, /^502 no render reachable/);
    const slow = await get('/content/slow.html');
    assert.deepEqual([slow.statusCode, xcache(slow)], [504, 'MISS']);
  });

  it('with serveStaleOnError, a stale copy is served when the render fails', async () => {
    const { get, render, store, clock } = await setup({ serveStaleOnError: true });
    store.put('/content/e.html', 'stale but served', clock.now() - 100);
    await store.touchStat('/', clock.now());
    clock.advance(1);
    render.route('/content/e.html', { status: 503, body: 'busy' });
    const r = await get('/content/e.html');
    assert.deepEqual([r.statusCode, xcache(r), r.body], [200, 'STALE', 'stale but served']);
  });

  it('a docroot that refuses writes: the miss is answered, then misses PASS until the window ends on the clock', async () => {
    const { get, store, clock } = await setup();
    store.failWrites = 'EROFS';
    assert.equal(xcache(await get('/content/r1.html')), 'MISS');
    assert.deepEqual(store.errors.map((e) => e.code), ['EROFS']);
    assert.equal(xcache(await get('/content/r2.html')), 'PASS');
    store.failWrites = undefined;
    clock.advance(5000);
    assert.equal(xcache(await get('/content/r3.html')), 'MISS');
    assert.equal(xcache(await get('/content/r3.html')), 'HIT');
  });

  it('refetch() stores a URI now, as a flush refetch does, and says why one is refused', async () => {
    const { serve, rt, store, render } = await setup();
    const farm = rt.farms[0]!;
    assert.deepEqual(await serve.refetch(rt, farm, '/content/r.html'), { uri: '/content/r.html', ok: true, status: 200 });
    assert.ok(store.files.has('/content/r.html'));
    assert.equal(render.requests[0]!.headers.host, 'site.local', 'the Host of a fill no client asked for');
    const refused = await serve.refetch(rt, farm, '/content/folder/');
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? '', /not cacheable/);
    render.route('/content/gone.html', { status: 404, body: 'not found' });
    assert.deepEqual(await serve.refetch(rt, farm, '/content/gone.html'), { uri: '/content/gone.html', ok: false, status: 404, error: 'render answered 404; not stored' });
  });

  it('a refetch ordered by a flush starts after the flush, to the millisecond: never refused by its fence, never stored stale', async () => {
    const { serve, rt, store, render, clock, start } = await setup();
    const farm = rt.farms[0]!;
    store.put('/content/f.html', 'old', clock.now() - 1000);
    // The flush, in the clock's current millisecond: fences and deletes the page, touches its .stat.
    await store.fence(['/content/f', '/content/f.']);
    await store.remove('/content/f.html');
    await store.touchStat('/', clock.now());
    const flushedAt = clock.now();
    const refetching = serve.refetch(rt, farm, '/content/f.html');
    await settle();
    assert.equal(render.count('/content/f.html'), 0, 'not rendered in the flush\'s millisecond');
    clock.advance(1);
    assert.deepEqual(await refetching, { uri: '/content/f.html', ok: true, status: 200 });
    assert.equal(store.files.get('/content/f.html')?.mtimeMs, flushedAt + 1);
    assert.equal((await serve.refetch(rt, farm, '/content/f.html')).ok, true, 'a later refetch needs no wait');
    assert.equal(xcache(await start({ url: '/content/f.html' })), 'HIT', 'fresh: newer than the .stat');
  });
});

export type { FakeRuntime };
