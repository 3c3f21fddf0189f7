/**
 * The serving path against a real render on 127.0.0.1:0 and a temp docroot (contract section 3).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { oneFarmYaml, rawRequest, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { sleep, startRender, type TestRender } from '../helpers/render.js';

const HOST = 'site.local';

async function get(fg: TestFarmgate, p: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fg.request(p, { host: HOST, headers, method });
  const body = await res.text();
  return { status: res.status, cache: res.headers.get('x-cache'), body, headers: res.headers };
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('serving: miss, hit and what is not cached', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender();
    fg = await startFarmgate(
      oneFarmYaml(render.url, {
        rules: [{ allow: '/**' }, { deny: '/content/private/**' }],
        ignoreUrlParams: [{ allow: 'utm_*' }],
        headers: ['Content-Type', 'ETag', 'X-Stored'],
      }),
    );
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('MISS then HIT with one render request', async () => {
    const a = await get(fg, '/content/a.html');
    const b = await get(fg, '/content/a.html');
    assert.equal(a.status, 200);
    assert.equal(a.cache, 'MISS');
    assert.equal(b.cache, 'HIT');
    assert.equal(b.body, a.body);
    assert.equal(render.count('/content/a.html'), 1);
    const file = path.join(fg.docroot('site'), 'content/a.html');
    assert.equal(await fs.readFile(file, 'utf8'), a.body, 'cached at docroot + P, exactly');
    const h = JSON.parse(await fs.readFile(file + '.h', 'utf8'));
    assert.equal(h.v, 1);
  });

  it('replays the stored headers from .h, and only those', async () => {
    render.route('/content/h.html', {
      headers: { 'content-type': 'text/html; charset=iso-8859-1', etag: '"v1"', 'x-stored': 'yes', 'x-not-stored': 'no' },
      body: 'headers',
    });
    const miss = await get(fg, '/content/h.html');
    assert.equal(miss.headers.get('x-not-stored'), 'no', 'a MISS passes the render headers through');
    const hit = await get(fg, '/content/h.html');
    assert.equal(hit.cache, 'HIT');
    assert.equal(hit.headers.get('content-type'), 'text/html; charset=iso-8859-1');
    assert.equal(hit.headers.get('etag'), '"v1"');
    assert.equal(hit.headers.get('x-stored'), 'yes');
    assert.equal(hit.headers.get('x-not-stored'), null);
    const notModified = await fg.request('/content/h.html', { host: HOST, headers: { 'if-none-match': '"v1"' } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('x-cache'), 'HIT');
  });

  it('HEAD miss is fetched as GET, stored, and answered with headers only', async () => {
    const head = await get(fg, '/content/head.html', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.cache, 'MISS');
    assert.equal(head.body, '');
    assert.equal(render.requests.at(-1)!.method, 'GET');
    const hit = await get(fg, '/content/head.html');
    assert.equal(hit.cache, 'HIT');
    assert.match(hit.body, /render 1/);
  });

  it('a query string is not cached; ignored parameters are', async () => {
    assert.equal((await get(fg, '/content/q.html?x=1')).cache, 'PASS');
    assert.equal((await get(fg, '/content/q.html?x=1')).cache, 'PASS');
    assert.equal(render.count('/content/q.html'), 2);
    assert.equal((await get(fg, '/content/u.html?utm_source=mail')).cache, 'MISS');
    assert.equal((await get(fg, '/content/u.html?utm_campaign=x')).cache, 'HIT');
    assert.equal(render.count('/content/u.html'), 1);
  });

  it('Authorization and login-token cookies are not cached', async () => {
    assert.equal((await get(fg, '/content/auth.html', { authorization: 'Basic eDp5' })).cache, 'PASS');
    assert.equal((await get(fg, '/content/auth.html', { cookie: 'login-token=abc' })).cache, 'PASS');
    assert.equal(render.count('/content/auth.html'), 2);
    await assert.rejects(fs.stat(path.join(fg.docroot('site'), 'content/auth.html')));
  });

  const notStored: [string, { status?: number; headers?: Record<string, string>; body?: string }][] = [
    ['dispatcher-no-cache', { headers: { dispatcher: 'no-cache' } }],
    ['dispatcher-no_cache', { headers: { dispatcher: 'no_cache' } }],
    ['no-store', { headers: { 'cache-control': 'no-store' } }],
    ['private', { headers: { 'cache-control': 'private' } }],
    ['set-cookie', { headers: { 'set-cookie': 'session=1' } }],
    ['not-found', { status: 404, body: 'missing' }],
    ['server-error', { status: 500, body: 'boom' }],
    ['empty', { body: '' }],
  ];
  for (const [name, reply] of notStored) {
    it(`a response with ${name} is passed through and not stored`, async () => {
      const p = `/content/ns-${name}.html`;
      render.route(p, { body: 'content', ...reply });
      const a = await get(fg, p);
      const b = await get(fg, p);
      assert.equal(a.status, reply.status ?? 200);
      assert.equal(a.cache, 'MISS');
      assert.equal(b.cache, 'MISS');
      assert.equal(render.count(p), 2);
      assert.equal(a.headers.get('dispatcher'), null, 'the Dispatcher header never reaches the client');
      await assert.rejects(fs.stat(path.join(fg.docroot('site'), p)));
    });
  }

  it('concurrent misses never share a response that sets a cookie', async () => {
    let n = 0;
    render.route('/content/personal.html', () => ({ headers: { 'set-cookie': `session=${++n}` }, body: `for ${n}`, delayMs: 100 }));
    const replies = await Promise.all(Array.from({ length: 5 }, () => fg.request('/content/personal.html', { host: HOST })));
    const cookies = replies.map((r) => r.headers.get('set-cookie'));
    assert.equal(new Set(cookies).size, 5, `every client got its own session: ${cookies.join(' ')}`);
    assert.equal(render.count('/content/personal.html'), 5);
  });

  it('paths without an extension, with a trailing slash, or denied by cache.rules pass', async () => {
    assert.equal((await get(fg, '/content/noext')).cache, 'PASS');
    assert.equal((await get(fg, '/content/dir/')).cache, 'PASS');
    assert.equal((await get(fg, '/content/private/p.html')).cache, 'PASS');
    assert.equal((await get(fg, '/content/private/p.html')).cache, 'PASS');
    assert.equal(render.count('/content/private/p.html'), 2);
  });

  it('a POST passes through with its body', async () => {
    render.route('/content/form.html', (req) => ({ body: `${req.method} ${req.headers['content-length']}` }));
    const res = await fg.request('/content/form.html', { host: HOST, method: 'POST', body: 'a=1&b=2' });
    assert.equal(res.headers.get('x-cache'), 'PASS');
    assert.equal(await res.text(), 'POST 7');
  });

  it('unknown Host → 404 PASS; .stat, .h, .ttl and temp files → 404', async () => {
    const unknown = await fg.request('/content/a.html', { host: 'other.local' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('x-cache'), 'PASS');
    for (const p of ['/.stat', '/content/.stat', '/content/a.html.h', '/content/a.html.ttl', '/content/.fgtmp-a.html.1.1']) {
      const r = await get(fg, p);
      assert.equal(r.status, 404, p);
      assert.equal(r.cache, 'PASS', p);
    }
  });

  it('sends X-Forwarded-For/-Host/-Proto and Server-Agent to the render, strips hop-by-hop headers', async () => {
    await rawRequest(fg.url, '/content/fwd.html', { host: HOST, 'x-forwarded-for': '10.1.1.1', connection: 'x-hop', 'x-hop': '1' });
    const seen = render.requests.find((r) => r.url === '/content/fwd.html')!.headers;
    assert.equal(seen['x-forwarded-for'], '10.1.1.1, 127.0.0.1');
    assert.equal(seen['x-forwarded-host'], HOST);
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['server-agent'], 'Communique-Dispatcher');
    assert.equal(seen['host'], HOST);
    assert.equal(seen['x-hop'], undefined);
  });

  it('traversal attempts on the serving path get 400 and never reach the render', async () => {
    const before = render.requests.length;
    for (const p of ['/content/%2e%2e/%2e%2e/etc/passwd', '/content/../../etc/passwd', '/content/..%2f..%2fetc/passwd', '/content/a%00.html', '/content//x.html']) {
      const r = await rawRequest(fg.url, p, { host: HOST });
      assert.equal(r.status, 400, p);
    }
    assert.equal(render.requests.length, before);
  });
});

describe('serving: a failed cache write', () => {
  it('never breaks the client response; it is logged and counted', async () => {
    const render = await startRender();
    const fg = await startFarmgate(oneFarmYaml(render.url));
    try {
      // A folder that is a symlink leaving the docroot: the write is refused (works as root,
      // unlike chmod). (A cached file where the folder must go is a collision, not a failure:
      // test/integration/aem-urls.test.ts.)
      await fs.mkdir(path.join(fg.docroot('site'), 'content'), { recursive: true });
      await fs.mkdir(path.join(fg.dir, 'outside'));
      await fs.symlink(path.join(fg.dir, 'outside'), path.join(fg.docroot('site'), 'content/blocked'));
      const a = await get(fg, '/content/blocked/page.html');
      const b = await get(fg, '/content/blocked/page.html');
      assert.equal(a.status, 200);
      assert.equal(a.cache, 'MISS');
      assert.match(a.body, /render 1/);
      assert.equal(b.cache, 'MISS');
      const metrics = await fg.app.metrics.registry.getSingleMetricAsString('farmgate_cache_write_errors_total');
      assert.match(metrics, /farmgate_cache_write_errors_total\{farm="site"\} 2/);
      assert.deepEqual(await fs.readdir(path.join(fg.dir, 'outside')), [], 'nothing written outside the docroot');
    } finally {
      await fg.close();
      await render.close();
    }
  });
});

describe('serving: filters', () => {
  it('a request denied by the filter gets 404 PASS and never reaches the render', async () => {
    const render = await startRender();
    const fg = await startFarmgate(
      oneFarmYaml(render.url).replace(
        '    cache:',
        '    filter:\n      - deny: { path: "/**" }\n      - allow: { method: [GET], path: "/content/**" }\n    cache:',
      ),
    );
    try {
      const denied = await get(fg, '/etc/secret.html');
      assert.equal(denied.status, 404);
      assert.equal(denied.cache, 'PASS');
      assert.equal((await get(fg, '/content/ok.html')).status, 200);
      assert.equal(render.count('/etc/secret.html'), 0);
    } finally {
      await fg.close();
      await render.close();
    }
  });
});

describe('serving: freshness', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender((req, n) => ({ body: `${req.url} v${n}`, headers: { 'content-type': 'text/plain' } }));
    fg = await startFarmgate(oneFarmYaml(render.url, { statfileslevel: 2, statCheckIntervalMs: 100 }));
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('a .stat touched by another process makes *.html below it stale within statCheckIntervalMs; a .png stays HIT', async () => {
    await get(fg, '/content/site/page.html');
    await get(fg, '/content/site/logo.png');
    assert.equal((await get(fg, '/content/site/page.html')).cache, 'HIT');
    await sleep(20);
    const stat = path.join(fg.docroot('site'), 'content/site/.stat');
    await fs.writeFile(stat, '');
    await sleep(150);
    const page = await get(fg, '/content/site/page.html');
    assert.equal(page.cache, 'MISS');
    assert.equal(page.body, '/content/site/page.html v2');
    assert.equal((await get(fg, '/content/site/page.html')).cache, 'HIT');
    assert.equal((await get(fg, '/content/site/logo.png')).cache, 'HIT');
    assert.equal(render.count('/content/site/logo.png'), 1);
  });

  it('a cached file replaced by another process is noticed within statCheckIntervalMs', async () => {
    await get(fg, '/content/ext.html');
    const file = path.join(fg.docroot('site'), 'content/ext.html');
    await fs.writeFile(file, 'written by an operator');
    await sleep(150);
    const r = await get(fg, '/content/ext.html');
    assert.equal(r.cache, 'HIT');
    assert.equal(r.body, 'written by an operator');
  });
});

describe('serving: grace period and TTL', () => {
  it('serves the old copy for gracePeriodMs after the .stat touch, then refetches', async () => {
    const render = await startRender((req, n) => ({ body: `v${n}` }));
    const fg = await startFarmgate(oneFarmYaml(render.url, { statfileslevel: 1, statCheckIntervalMs: 50, gracePeriodMs: 400 }));
    try {
      await get(fg, '/content/g.html');
      await sleep(10);
      await fs.writeFile(path.join(fg.docroot('site'), 'content/.stat'), '');
      await sleep(80);
      const during = await get(fg, '/content/g.html');
      assert.equal(during.cache, 'HIT');
      assert.equal(during.body, 'v1');
      await sleep(400);
      const afterGrace = await get(fg, '/content/g.html');
      assert.equal(afterGrace.cache, 'MISS');
      assert.equal(afterGrace.body, 'v2');
    } finally {
      await fg.close();
      await render.close();
    }
  });

  it('enableTTL: a .ttl from max-age expires the file; no max-age means no .ttl', async () => {
    const render = await startRender((req, n) =>
      req.url === '/content/ttl.html' ? { body: `v${n}`, headers: { 'cache-control': 'max-age=1' } } : { body: `v${n}` },
    );
    const fg = await startFarmgate(oneFarmYaml(render.url, { enableTTL: true, statCheckIntervalMs: 50 }));
    try {
      await get(fg, '/content/ttl.html');
      await get(fg, '/content/nottl.html');
      const file = path.join(fg.docroot('site'), 'content/ttl.html');
      const ttl = (await fs.stat(file + '.ttl')).mtimeMs;
      const mtime = (await fs.stat(file)).mtimeMs;
      assert.ok(Math.abs(ttl - (mtime + 1000)) < 5, '.ttl mtime = render start + max-age');
      await assert.rejects(fs.stat(path.join(fg.docroot('site'), 'content/nottl.html.ttl')));
      assert.equal((await get(fg, '/content/ttl.html')).cache, 'HIT');
      await sleep(1100);
      const expired = await get(fg, '/content/ttl.html');
      assert.equal(expired.cache, 'MISS');
      assert.equal(expired.body, 'v2');
      assert.equal((await get(fg, '/content/nottl.html')).cache, 'HIT');
    } finally {
      await fg.close();
      await render.close();
    }
  });
});

describe('serving: request collapsing and races', () => {
  it('100 concurrent misses make exactly 1 render request and get 100 identical bodies', async () => {
    const render = await startRender((req, n) => ({ body: `collapsed ${n}`, delayMs: 150 }));
    const fg = await startFarmgate(oneFarmYaml(render.url));
    try {
      const results = await Promise.all(Array.from({ length: 100 }, () => get(fg, '/content/storm.html')));
      assert.equal(render.count('/content/storm.html'), 1);
      assert.ok(results.every((r) => r.status === 200 && r.body === 'collapsed 1'));
      assert.ok(results.every((r) => r.cache === 'MISS' || r.cache === 'HIT'));
    } finally {
      await fg.close();
      await render.close();
    }
  });

  it('while a stale file is re-fetched, concurrent requests get the stale copy', async () => {
    const render = await startRender((req, n) => ({ body: `v${n}`, delayMs: n === 1 ? 0 : 300 }));
    const fg = await startFarmgate(oneFarmYaml(render.url, { statfileslevel: 1, statCheckIntervalMs: 20 }));
    try {
      await get(fg, '/content/swr.html');
      await sleep(10);
      await fs.writeFile(path.join(fg.docroot('site'), 'content/.stat'), '');
      await sleep(40);
      const leader = get(fg, '/content/swr.html');
      await sleep(50);
      const others = await Promise.all(Array.from({ length: 10 }, () => get(fg, '/content/swr.html')));
      assert.ok(others.every((r) => r.cache === 'STALE' && r.body === 'v1'), JSON.stringify(others.map((o) => o.cache)));
      const l = await leader;
      assert.equal(l.cache, 'MISS');
      assert.equal(l.body, 'v2');
      assert.equal(render.count('/content/swr.html'), 2);
    } finally {
      await fg.close();
      await render.close();
    }
  });

  it('a .stat touched while a slow render is in flight leaves the written file stale', async () => {
    const render = await startRender((req, n) => ({ body: `v${n}`, delayMs: n === 1 ? 300 : 0 }));
    const fg = await startFarmgate(oneFarmYaml(render.url, { statfileslevel: 1, statCheckIntervalMs: 20 }));
    try {
      const slow = get(fg, '/content/race.html');
      await sleep(100);
      await fs.mkdir(path.join(fg.docroot('site'), 'content'), { recursive: true });
      await fs.writeFile(path.join(fg.docroot('site'), 'content/.stat'), '');
      const first = await slow;
      assert.equal(first.body, 'v1');
      const file = path.join(fg.docroot('site'), 'content/race.html');
      const statTime = (await fs.stat(path.join(fg.docroot('site'), 'content/.stat'))).mtimeMs;
      assert.ok((await fs.stat(file)).mtimeMs < statTime, 'the file mtime is when its render started');
      await sleep(40);
      const next = await get(fg, '/content/race.html');
      assert.equal(next.cache, 'MISS');
      assert.equal(next.body, 'v2');
    } finally {
      await fg.close();
      await render.close();
    }
  });
});

describe('serving: render errors', () => {
  it('serveStaleOnError: a 503 from the render serves the stale copy (STALE); off, the 503 passes through', async () => {
    for (const serveStaleOnError of [true, false]) {
      const render = await startRender((req, n) => (n === 1 ? { body: 'good' } : { status: 503, body: 'down for maintenance' }));
      const fg = await startFarmgate(oneFarmYaml(render.url, { statfileslevel: 1, statCheckIntervalMs: 20, serveStaleOnError }));
      try {
        await get(fg, '/content/soe.html');
        await sleep(10);
        await fs.writeFile(path.join(fg.docroot('site'), 'content/.stat'), '');
        await sleep(40);
        const r = await get(fg, '/content/soe.html');
        if (serveStaleOnError) {
          assert.equal(r.status, 200);
          assert.equal(r.cache, 'STALE');
          assert.equal(r.body, 'good');
        } else {
          assert.equal(r.status, 503);
          assert.equal(r.cache, 'MISS');
          assert.equal(r.body, 'down for maintenance');
        }
      } finally {
        await fg.close();
        await render.close();
      }
    }
  });

  it('an unreachable render → 502 with a plain-text reason; another render takes over', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const fg = await startFarmgate(oneFarmYaml(dead));
    try {
      const r = await get(fg, '/content/x.html');
      assert.equal(r.status, 502);
      assert.match(r.headers.get('content-type')!, /text\/plain/);
      assert.match(r.body, /render/);
    } finally {
      await fg.close();
    }
    const render = await startRender();
    const two = await startFarmgate(oneFarmYaml(dead).replace(`      - url: ${dead}\n        timeoutMs: 2000\n`, `      - url: ${dead}\n      - url: ${render.url}\n`));
    try {
      for (let i = 0; i < 4; i++) assert.equal((await get(two, `/content/f${i}.html`)).status, 200);
      assert.equal(render.requests.length, 4);
    } finally {
      await two.close();
      await render.close();
    }
  });

  it('a render timeout → 504', async () => {
    const render = await startRender(() => ({ body: 'late', delayMs: 1500 }));
    const fg = await startFarmgate(oneFarmYaml(render.url).replace('timeoutMs: 2000', 'timeoutMs: 300'));
    try {
      const r = await get(fg, '/content/slow.html');
      assert.equal(r.status, 504);
      assert.match(r.body, /timed out/);
    } finally {
      await fg.close();
      await render.close();
    }
  });

  it('a 5 MB slow response is never visible at its final path half-written', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 'x');
    const render = await startRender(() => ({ body: big, chunks: 50, dripMs: 10 }));
    const fg = await startFarmgate(oneFarmYaml(render.url));
    try {
      const file = path.join(fg.docroot('site'), 'content/big.html');
      const pending = get(fg, '/content/big.html');
      let sawPartial = false;
      let done = false;
      void pending.then(() => (done = true));
      while (!done) {
        const st = await fs.stat(file).catch(() => undefined);
        if (st && st.size !== big.length) sawPartial = true;
        await sleep(5);
      }
      const r = await pending;
      assert.equal(r.body.length, big.length);
      assert.equal(sawPartial, false);
      assert.equal((await fs.stat(file)).size, big.length);
      const hit = await get(fg, '/content/big.html');
      assert.equal(hit.cache, 'HIT');
      assert.equal(hit.body.length, big.length);
    } finally {
      await fg.close();
      await render.close();
    }
  });

  it('a render that resets mid-body leaves nothing cached', async () => {
    const render = await startRender(() => ({ body: Buffer.alloc(200_000, 'y'), chunks: 10, dripMs: 5, resetAfterBytes: 50_000 }));
    const fg = await startFarmgate(oneFarmYaml(render.url));
    try {
      await assert.rejects(get(fg, '/content/reset.html'));
      await sleep(100);
      const dir = path.join(fg.docroot('site'), 'content');
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      assert.deepEqual(names, [], 'no file, no sidecar, no temp file');
    } finally {
      await fg.close();
      await render.close();
    }
  });
});
