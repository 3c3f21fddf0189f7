/**
 * The serving path (contract sections 3 and 3a) against a real render on 127.0.0.1:0 and a temp
 * docroot, once per deployment: farmgate direct, the nginx front and the Apache front
 * (test/helpers/deployments.ts). The same requests must get the same answers whoever answers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEPLOYMENTS, startDeployment, until, type Deployment } from '../helpers/deployments.js';
import { oneFarmYaml } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const HOST = 'site.local';

async function get(d: Deployment, p: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await d.request(p, { host: HOST, headers, method });
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

/** A render + a deployment for one describe block, closed after it. */
function withDeployment(kind: (typeof DEPLOYMENTS)[number], yaml: (renderUrl: string) => string, route?: Parameters<typeof startRender>[0]) {
  const ctx = {} as { render: TestRender; d: Deployment };
  before(async () => {
    ctx.render = await startRender(route);
    ctx.d = await startDeployment(kind, yaml(ctx.render.url));
  });
  after(async () => {
    await ctx.d?.close();
    await ctx.render?.close();
  });
  return ctx;
}

for (const kind of DEPLOYMENTS) {
  describe(`serving (${kind}): miss, hit and what is not cached`, () => {
    const ctx = withDeployment(kind, (url) =>
      oneFarmYaml(url, {
        rules: [{ allow: '/**' }, { deny: '/content/private/**' }],
        ignoreUrlParams: [{ allow: 'utm_*' }],
        headers: ['Content-Type', 'ETag', 'X-Stored'],
      }),
    );

    it('MISS then HIT with one render request', async () => {
      const { d, render } = ctx;
      const a = await get(d, '/content/a.html');
      const b = await get(d, '/content/a.html');
      assert.equal(a.status, 200);
      assert.equal(a.cache, 'MISS');
      assert.equal(b.cache, 'HIT');
      assert.equal(b.body, a.body);
      assert.equal(render.count('/content/a.html'), 1);
      const file = path.join(d.docroot('site'), 'content/a.html');
      assert.equal(await fs.readFile(file, 'utf8'), a.body, 'cached at docroot + P, exactly');
      const h = JSON.parse(await fs.readFile(file + '.h', 'utf8'));
      assert.equal(h.v, 1);
    });

    it('replays the stored headers from .h, and only those', async () => {
      const { d, render } = ctx;
      render.route('/content/h.html', {
        headers: { 'content-type': 'text/html; charset=iso-8859-1', etag: '"v1"', 'x-stored': 'yes', 'x-not-stored': 'no' },
        body: 'headers',
      });
      const miss = await get(d, '/content/h.html');
      assert.equal(miss.headers.get('x-not-stored'), 'no', 'a MISS passes the render headers through');
      const hit = await get(d, '/content/h.html');
      assert.equal(hit.cache, 'HIT');
      assert.equal(hit.headers.get('content-type'), 'text/html; charset=iso-8859-1');
      assert.equal(hit.headers.get('etag'), '"v1"');
      assert.equal(hit.headers.get('x-stored'), 'yes');
      assert.equal(hit.headers.get('x-not-stored'), null);
      const notModified = await d.request('/content/h.html', { host: HOST, headers: { 'if-none-match': '"v1"' } });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.get('x-cache'), 'HIT');
    });

    it('HEAD miss is fetched as GET, stored, and answered with headers only', async () => {
      const { d, render } = ctx;
      const head = await get(d, '/content/head.html', {}, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.cache, 'MISS');
      assert.equal(head.body, '');
      assert.equal(render.requests.at(-1)!.method, 'GET');
      const hit = await get(d, '/content/head.html');
      assert.equal(hit.cache, 'HIT');
      assert.match(hit.body, /render 1/);
    });

    it('a query string is not cached; ignored parameters are', async () => {
      const { d, render } = ctx;
      assert.equal((await get(d, '/content/q.html?x=1')).cache, 'PASS');
      assert.equal((await get(d, '/content/q.html?x=1')).cache, 'PASS');
      assert.equal(render.count('/content/q.html'), 2);
      assert.equal((await get(d, '/content/u.html?utm_source=mail')).cache, 'MISS');
      assert.equal((await get(d, '/content/u.html?utm_campaign=x')).cache, 'HIT');
      assert.equal(render.count('/content/u.html'), 1);
    });

    it('Authorization and login-token cookies are not cached', async () => {
      const { d, render } = ctx;
      assert.equal((await get(d, '/content/auth.html', { authorization: 'Basic eDp5' })).cache, 'PASS');
      assert.equal((await get(d, '/content/auth.html', { cookie: 'login-token=abc' })).cache, 'PASS');
      assert.equal(render.count('/content/auth.html'), 2);
      await assert.rejects(fs.stat(path.join(d.docroot('site'), 'content/auth.html')));
    });

    it('a cached page asked for with credentials passes, and stays cached for others', async () => {
      const { d, render } = ctx;
      await get(d, '/content/cred.html');
      assert.equal((await get(d, '/content/cred.html')).cache, 'HIT');
      assert.equal((await get(d, '/content/cred.html', { authorization: 'Basic eDp5' })).cache, 'PASS');
      assert.equal((await get(d, '/content/cred.html', { cookie: 'a=1;  Authorization=x' })).cache, 'PASS');
      assert.equal((await get(d, '/content/cred.html', { cookie: 'a=1; token=x' })).cache, 'HIT');
      assert.equal(render.count('/content/cred.html'), 3);
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
        const { d, render } = ctx;
        const p = `/content/ns-${name}.html`;
        render.route(p, { body: 'content', ...reply });
        const a = await get(d, p);
        const b = await get(d, p);
        assert.equal(a.status, reply.status ?? 200);
        assert.equal(a.cache, 'MISS');
        assert.equal(b.cache, 'MISS');
        assert.equal(render.count(p), 2);
        assert.equal(a.headers.get('dispatcher'), null, 'the Dispatcher header never reaches the client');
        await assert.rejects(fs.stat(path.join(d.docroot('site'), p)));
      });
    }

    it('concurrent misses never share a response that sets a cookie', async () => {
      const { d, render } = ctx;
      let n = 0;
      render.route('/content/personal.html', () => ({ headers: { 'set-cookie': `session=${++n}` }, body: `for ${n}`, delayMs: 100 }));
      const replies = await Promise.all(Array.from({ length: 5 }, () => d.request('/content/personal.html', { host: HOST })));
      const cookies = replies.map((r) => r.headers.get('set-cookie'));
      assert.equal(new Set(cookies).size, 5, `every client got its own session: ${cookies.join(' ')}`);
      assert.equal(render.count('/content/personal.html'), 5);
    });

    it('paths without an extension, with a trailing slash, or denied by cache.rules pass', async () => {
      const { d, render } = ctx;
      assert.equal((await get(d, '/content/noext')).cache, 'PASS');
      assert.equal((await get(d, '/content/dir/')).cache, 'PASS');
      assert.equal((await get(d, '/content/private/p.html')).cache, 'PASS');
      assert.equal((await get(d, '/content/private/p.html')).cache, 'PASS');
      assert.equal(render.count('/content/private/p.html'), 2);
    });

    it('a POST passes through with its body', async () => {
      const { d, render } = ctx;
      render.route('/content/form.html', (req) => ({ body: `${req.method} ${req.headers['content-length']}` }));
      const res = await d.request('/content/form.html', { host: HOST, method: 'POST', body: 'a=1&b=2' });
      assert.equal(res.headers.get('x-cache'), 'PASS');
      assert.equal(await res.text(), 'POST 7');
    });

    it('unknown Host → 404 PASS; .stat, .h, .ttl and temp files → 404', async () => {
      const { d } = ctx;
      await get(d, '/content/a.html');
      const unknown = await d.request('/content/a.html', { host: 'other.local' });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.headers.get('x-cache'), 'PASS');
      await fs.writeFile(path.join(d.docroot('site'), 'content/.fgtmp-a.html.1.1'), 'partial');
      await fs.writeFile(path.join(d.docroot('site'), 'content/a.html.ttl'), '');
      await fs.writeFile(path.join(d.docroot('site'), 'content/.stat'), '');
      for (const p of ['/.stat', '/content/.stat', '/content/a.html.h', '/content/a.html.ttl', '/content/.fgtmp-a.html.1.1']) {
        const r = await get(d, p);
        assert.equal(r.status, 404, p);
        assert.equal(r.cache, 'PASS', p);
      }
      for (const f of ['.fgtmp-a.html.1.1', 'a.html.ttl', '.stat']) await fs.rm(path.join(d.docroot('site'), 'content', f));
    });

    it('sends X-Forwarded-For/-Host/-Proto and Server-Agent to the render, strips hop-by-hop headers', async () => {
      const { d, render } = ctx;
      await d.raw('/content/fwd.html', { host: HOST, 'x-forwarded-for': '10.1.1.1', connection: 'x-hop', 'x-hop': '1' });
      const seen = render.requests.find((r) => r.url === '/content/fwd.html')!.headers;
      // Through a front, farmgate appends the front's own address (a trusted proxy) too.
      assert.equal(seen['x-forwarded-for'], kind === 'direct' ? '10.1.1.1, 127.0.0.1' : '10.1.1.1, 127.0.0.1, 127.0.0.1');
      assert.equal(seen['x-forwarded-host'], HOST);
      assert.equal(seen['x-forwarded-proto'], 'http');
      assert.equal(seen['server-agent'], 'Communique-Dispatcher');
      assert.equal(seen['host'], HOST);
      assert.equal(seen['x-hop'], undefined);
    });

    it('traversal attempts on the serving path get 400 and never reach the render', async () => {
      const { d, render } = ctx;
      const before = render.requests.length;
      for (const p of ['/content/%2e%2e/%2e%2e/etc/passwd', '/content/../../etc/passwd', '/content/..%2f..%2fetc/passwd', '/content/a%00.html', '/content//x.html', '/content/a%2Fb.html', '/content/a%5cb.html']) {
        const r = await d.raw(p, { host: HOST });
        assert.equal(r.status, 400, p);
      }
      assert.equal(render.requests.length, before);
    });
  });

  describe(`serving (${kind}): a failed cache write`, () => {
    const ctx = withDeployment(kind, (url) => oneFarmYaml(url));
    it('never breaks the client response; it is logged and counted', async () => {
      const { d } = ctx;
      // A folder that is a symlink leaving the docroot: the write is refused (works as root,
      // unlike chmod). (A cached file where the folder must go is a collision, not a failure:
      // test/integration/aem-urls.test.ts.)
      await fs.mkdir(path.join(d.docroot('site'), 'content'), { recursive: true });
      await fs.mkdir(path.join(d.fg.dir, 'outside'));
      await fs.symlink(path.join(d.fg.dir, 'outside'), path.join(d.docroot('site'), 'content/blocked'));
      const a = await get(d, '/content/blocked/page.html');
      const b = await get(d, '/content/blocked/page.html');
      assert.equal(a.status, 200);
      assert.equal(a.cache, 'MISS');
      assert.match(a.body, /render 1/);
      assert.equal(b.cache, 'MISS');
      const metrics = await d.fg.app.metrics.registry.getSingleMetricAsString('farmgate_cache_write_errors_total');
      assert.match(metrics, /farmgate_cache_write_errors_total\{farm="site"\} 2/);
      assert.deepEqual(await fs.readdir(path.join(d.fg.dir, 'outside')), [], 'nothing written outside the docroot');
    });
  });

  describe(`serving (${kind}): filters`, () => {
    const ctx = withDeployment(kind, (url) =>
      oneFarmYaml(url).replace('    cache:', '    filter:\n      - deny: { path: "/**" }\n      - allow: { method: [GET, HEAD], path: "/content/**" }\n    cache:'),
    );
    it('a request denied by the filter gets 404 PASS and never reaches the render, even when a copy is on disk', async () => {
      const { d, render } = ctx;
      await fs.mkdir(path.join(d.docroot('site'), 'etc'), { recursive: true });
      await fs.writeFile(path.join(d.docroot('site'), 'etc/secret.html'), 'on disk');
      const denied = await get(d, '/etc/secret.html');
      assert.equal(denied.status, 404);
      assert.equal(denied.cache, 'PASS');
      assert.equal((await get(d, '/content/ok.html')).status, 200);
      assert.equal((await get(d, '/content/ok.html')).cache, 'HIT');
      assert.equal(render.count('/etc/secret.html'), 0);
    });
  });

  describe(`serving (${kind}): freshness`, () => {
    const ctx = withDeployment(
      kind,
      (url) => oneFarmYaml(url, { statfileslevel: 2, statCheckIntervalMs: 100 }),
      (req, n) => ({ body: `${req.url} v${n}`, headers: { 'content-type': 'text/plain' } }),
    );

    it('a .stat touched by another process makes *.html below it stale within statCheckIntervalMs; a .png stays HIT', async () => {
      const { d, render } = ctx;
      await get(d, '/content/site/page.html');
      await get(d, '/content/site/logo.png');
      assert.equal((await get(d, '/content/site/page.html')).cache, 'HIT');
      await fs.writeFile(path.join(d.docroot('site'), 'content/site/.stat'), '');
      const page = await until('the page to go stale', async () => {
        const r = await get(d, '/content/site/page.html');
        return r.cache === 'MISS' && r;
      });
      assert.equal(page.body, '/content/site/page.html v2');
      assert.equal((await get(d, '/content/site/page.html')).cache, 'HIT');
      assert.equal((await get(d, '/content/site/logo.png')).cache, 'HIT');
      assert.equal(render.count('/content/site/logo.png'), 1);
    });

    it('a cached file replaced by another process is noticed within statCheckIntervalMs', async () => {
      const { d } = ctx;
      await get(d, '/content/ext.html');
      const file = path.join(d.docroot('site'), 'content/ext.html');
      await fs.writeFile(file, 'written by an operator');
      const r = await until('the new content', async () => {
        const x = await get(d, '/content/ext.html');
        return x.body === 'written by an operator' && x;
      });
      assert.equal(r.cache, 'HIT');
    });
  });

  describe(`serving (${kind}): grace period`, () => {
    const ctx = withDeployment(
      kind,
      (url) => oneFarmYaml(url, { statfileslevel: 1, statCheckIntervalMs: 50, gracePeriodMs: 1500 }),
      (req, n) => ({ body: `v${n}` }),
    );
    it('serves the old copy for gracePeriodMs after the .stat touch, then refetches', async () => {
      const { d } = ctx;
      await get(d, '/content/g.html');
      const touched = Date.now();
      await fs.writeFile(path.join(d.docroot('site'), 'content/.stat'), '');
      const during = await get(d, '/content/g.html');
      if (Date.now() - touched < 1400) {
        assert.equal(during.cache, 'HIT');
        assert.equal(during.body, 'v1');
      }
      const afterGrace = await until('the grace period to end', async () => {
        const r = await get(d, '/content/g.html');
        return r.cache === 'MISS' && r;
      });
      assert.ok(Date.now() - touched >= 1500, 'not before the grace period ends');
      assert.equal(afterGrace.body, 'v2');
    });
  });

  describe(`serving (${kind}): TTL`, () => {
    const ctx = withDeployment(
      kind,
      (url) => oneFarmYaml(url, { enableTTL: true, statCheckIntervalMs: 50 }),
      (req, n) => (req.url === '/content/ttl.html' ? { body: `v${n}`, headers: { 'cache-control': 'max-age=1' } } : { body: `v${n}` }),
    );
    it('enableTTL: a .ttl from max-age expires the file; no max-age means no .ttl', async () => {
      const { d } = ctx;
      await get(d, '/content/ttl.html');
      await get(d, '/content/nottl.html');
      const file = path.join(d.docroot('site'), 'content/ttl.html');
      const ttl = (await fs.stat(file + '.ttl')).mtimeMs;
      const mtime = (await fs.stat(file)).mtimeMs;
      assert.ok(Math.abs(ttl - (mtime + 1000)) < 5, '.ttl mtime = render start + max-age');
      await assert.rejects(fs.stat(path.join(d.docroot('site'), 'content/nottl.html.ttl')));
      const hit = await get(d, '/content/ttl.html');
      if (Date.now() < ttl - 50) assert.equal(hit.cache, 'HIT');
      const expired = await until('the TTL to pass', async () => {
        const r = await get(d, '/content/ttl.html');
        return r.cache === 'MISS' && r;
      });
      assert.ok(Date.now() >= ttl, 'not before the expiry');
      assert.equal(expired.body, 'v2');
      assert.equal((await get(d, '/content/nottl.html')).cache, 'HIT');
    });
  });

  describe(`serving (${kind}): request collapsing and races`, () => {
    it('100 concurrent misses make exactly 1 render request and get 100 identical bodies', async () => {
      const render = await startRender((req, n) => ({ body: `collapsed ${n}`, delayMs: 150 }));
      const d = await startDeployment(kind, oneFarmYaml(render.url));
      try {
        const results = await Promise.all(Array.from({ length: 100 }, () => get(d, '/content/storm.html')));
        assert.equal(render.count('/content/storm.html'), 1);
        assert.ok(results.every((r) => r.status === 200 && r.body === 'collapsed 1'));
        assert.ok(results.every((r) => r.cache === 'MISS' || r.cache === 'HIT'));
      } finally {
        await d.close();
        await render.close();
      }
    });

    it('while a stale file is re-fetched, concurrent requests get the stale copy', async () => {
      const render = await startRender((req, n) => ({ body: `v${n}`, delayMs: n === 1 ? 0 : 400 }));
      const d = await startDeployment(kind, oneFarmYaml(render.url, { statfileslevel: 1, statCheckIntervalMs: 20 }));
      try {
        await get(d, '/content/swr.html');
        await fs.writeFile(path.join(d.docroot('site'), 'content/.stat'), '');
        // farmgate notices the .stat within statCheckIntervalMs; the first stale request re-fetches
        const touched = (await fs.stat(path.join(d.docroot('site'), 'content/.stat'))).mtimeMs;
        await until('statCheckIntervalMs to pass', async () => touched + 25 < Date.now());
        const leader = get(d, '/content/swr.html');
        await render.arrived(2);
        const others = await Promise.all(Array.from({ length: 10 }, () => get(d, '/content/swr.html')));
        assert.ok(others.every((r) => r.cache === 'STALE' && r.body === 'v1'), JSON.stringify(others.map((o) => o.cache)));
        const l = await leader;
        assert.equal(l.cache, 'MISS');
        assert.equal(l.body, 'v2');
        assert.equal(render.count('/content/swr.html'), 2);
      } finally {
        await d.close();
        await render.close();
      }
    });

    it('a .stat touched while a slow render is in flight leaves the written file stale', async () => {
      const render = await startRender((req, n) => ({ body: `v${n}`, delayMs: n === 1 ? 300 : 0 }));
      const d = await startDeployment(kind, oneFarmYaml(render.url, { statfileslevel: 1, statCheckIntervalMs: 20 }));
      try {
        const slow = get(d, '/content/race.html');
        await render.arrived(1);
        await fs.mkdir(path.join(d.docroot('site'), 'content'), { recursive: true });
        // touched now, to the millisecond (a file system's own clock may lag Date.now() by a tick)
        const now = new Date();
        await fs.writeFile(path.join(d.docroot('site'), 'content/.stat'), '');
        await fs.utimes(path.join(d.docroot('site'), 'content/.stat'), now, now);
        const first = await slow;
        assert.equal(first.body, 'v1');
        const file = path.join(d.docroot('site'), 'content/race.html');
        const statTime = (await fs.stat(path.join(d.docroot('site'), 'content/.stat'))).mtimeMs;
        assert.ok((await fs.stat(file)).mtimeMs <= statTime, 'the file mtime is when its render started');
        const next = await until('the stale file to be re-fetched', async () => {
          const r = await get(d, '/content/race.html');
          return r.cache === 'MISS' && r;
        });
        assert.equal(next.body, 'v2');
      } finally {
        await d.close();
        await render.close();
      }
    });
  });

  describe(`serving (${kind}): render errors`, () => {
    it('serveStaleOnError: a 503 from the render serves the stale copy (STALE); off, the 503 passes through', async () => {
      for (const serveStaleOnError of [true, false]) {
        const render = await startRender((req, n) => (n === 1 ? { body: 'good' } : { status: 503, body: 'down for maintenance' }));
        const d = await startDeployment(kind, oneFarmYaml(render.url, { statfileslevel: 1, statCheckIntervalMs: 20, serveStaleOnError }));
        try {
          await get(d, '/content/soe.html');
          await fs.writeFile(path.join(d.docroot('site'), 'content/.stat'), '');
          const r = await until('the stale file to be re-fetched', async () => {
            const x = await get(d, '/content/soe.html');
            return x.cache !== 'HIT' && x;
          });
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
          await d.close();
          await render.close();
        }
      }
    });

    it('an unreachable render → 502 with a plain-text reason; another render takes over', async () => {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const d = await startDeployment(kind, oneFarmYaml(dead));
      try {
        const r = await get(d, '/content/x.html');
        assert.equal(r.status, 502);
        assert.match(r.headers.get('content-type')!, /text\/plain/);
        assert.match(r.body, /render/);
      } finally {
        await d.close();
      }
      const render = await startRender();
      const two = await startDeployment(kind, oneFarmYaml(dead).replace(`      - url: ${dead}\n        timeoutMs: 2000\n`, `      - url: ${dead}\n      - url: ${render.url}\n`));
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
      const d = await startDeployment(kind, oneFarmYaml(render.url).replace('timeoutMs: 2000', 'timeoutMs: 300'));
      try {
        const r = await get(d, '/content/slow.html');
        assert.equal(r.status, 504);
        assert.match(r.body, /timed out/);
      } finally {
        await d.close();
        await render.close();
      }
    });

    it('a 5 MB slow response is never visible at its final path half-written', async () => {
      const big = Buffer.alloc(5 * 1024 * 1024, 'x');
      const render = await startRender(() => ({ body: big, chunks: 50, dripMs: 10 }));
      const d = await startDeployment(kind, oneFarmYaml(render.url));
      try {
        const file = path.join(d.docroot('site'), 'content/big.html');
        const pending = get(d, '/content/big.html');
        let sawPartial = false;
        let done = false;
        void pending.then(() => (done = true));
        while (!done) {
          const st = await fs.stat(file).catch(() => undefined);
          if (st && st.size !== big.length) sawPartial = true;
          await new Promise((r) => setTimeout(r, 5));
        }
        const r = await pending;
        assert.equal(r.body.length, big.length);
        assert.equal(sawPartial, false);
        assert.equal((await fs.stat(file)).size, big.length);
        const hit = await get(d, '/content/big.html');
        assert.equal(hit.cache, 'HIT');
        assert.equal(hit.body.length, big.length);
      } finally {
        await d.close();
        await render.close();
      }
    });

    it('a render that resets mid-body leaves nothing cached', async () => {
      const render = await startRender(() => ({ body: Buffer.alloc(200_000, 'y'), chunks: 10, dripMs: 5, resetAfterBytes: 50_000 }));
      const d = await startDeployment(kind, oneFarmYaml(render.url));
      try {
        await assert.rejects(get(d, '/content/reset.html'));
        const dir = path.join(d.docroot('site'), 'content');
        await until('no file, no sidecar, no temp file', async () => (await fs.readdir(dir).catch(() => [] as string[])).length === 0);
      } finally {
        await d.close();
        await render.close();
      }
    });
  });
}
