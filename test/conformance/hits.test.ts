/**
 * What a fresh HIT returns, once per deployment, compared with what farmgate itself returns for
 * the same request (contract section 3a): status, body, the replayed stored headers, X-Cache,
 * HEAD, Range and conditional requests; hits answered by the front without farmgate (and with
 * farmgate stopped, nothing stale); the requests farmgate refuses refused alike (traversal,
 * encoded slashes, internal names, symlinks out of the docroot).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEPLOYMENTS, startDeployment, type Deployment } from '../helpers/deployments.js';
import { comparableAnswer, httpRequest, oneFarmYaml, rawRequest, tempDir, type ComparableAnswer } from '../helpers/farmgate.js';
import { startRender, type RenderReply, type TestRender } from '../helpers/render.js';

const HOST = 'site.local';
const BODY = Buffer.from('<!doctype html><p>' + '0123456789'.repeat(100) + '</p>\n');
const STORED = ['Content-Type', 'Cache-Control', 'Expires', 'Last-Modified', 'ETag', 'Content-Disposition', 'X-Custom'];
const LM = 'Tue, 01 Dec 2026 10:00:00 GMT';

type Answer = ComparableAnswer;
const ask = (base: string, p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> =>
  comparableAnswer(base + p, { host: HOST, headers, method });

async function farmgateHits(d: Deployment): Promise<number> {
  const text = await d.fg.app.metrics.registry.getSingleMetricAsString('farmgate_requests_total');
  const m = /farmgate_requests_total\{farm="site",cache="hit"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

/** One request written byte for byte (request line, optional Host), read until the server closes. */
function rawLine(base: string, line: string, host?: string): Promise<{ status: number; cache: string | undefined; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head)?.[1] ?? 0);
      const cache = /^x-cache: *(.*)$/im.exec(head)?.[1]?.trim();
      resolve({ status, cache, body: rest.join('\r\n\r\n') });
    });
    sock.write(`${line}\r\n${host === undefined ? '' : `Host: ${host}\r\n`}Connection: close\r\n\r\n`);
  });
}

for (const kind of DEPLOYMENTS) {
  describe(`fresh hits (${kind})`, () => {
    let render: TestRender;
    let d: Deployment;
    let outside: string;
    before(async () => {
      render = await startRender((req): RenderReply => {
        const p = (req.url ?? '').split('?')[0]!;
        if (p === '/content/rich.html') {
          return {
            headers: {
              'content-type': 'text/html; charset=utf-8',
              'cache-control': 'max-age=60, public',
              expires: 'Tue, 01 Dec 2026 11:00:00 GMT',
              'last-modified': LM,
              etag: '"rich-1"',
              'content-disposition': 'inline; filename="rich.html"',
              'x-custom': 'a value with "quotes" and \\ backslash',
              'x-not-stored': 'no',
            },
            body: BODY,
          };
        }
        // a tagged page: its `.h` carries the tags too (contract section 4a)
        if (p === '/content/tagged.html') return { headers: { 'content-type': 'text/html', 'surrogate-key': 'product-1 "odd" nav' }, body: 'tagged' };
        return { headers: p.endsWith('.png') ? { 'content-type': 'image/png' } : {}, body: `${p} from the render` };
      });
      d = await startDeployment(kind, oneFarmYaml(render.url, { statfileslevel: 2, headers: STORED, statCheckIntervalMs: 60_000 }));
      outside = await tempDir('farmgate-outside-');
      await fs.chmod(outside, 0o755);
      await fs.writeFile(path.join(outside, 'secret.html'), 'SECRET outside the docroot');
      // warm: one MISS each, so that the files are on disk
      for (const p of ['/content/rich.html', '/content/plain.html', '/content/img/logo.png', '/content/tagged.html']) await ask(d.url, p);
    });
    after(async () => {
      await d.close();
      await render.close();
      await fs.rm(outside, { recursive: true, force: true });
    });

    it('a HIT returns what farmgate returns: status, body, stored headers, X-Cache', async () => {
      for (const p of ['/content/rich.html', '/content/plain.html', '/content/img/logo.png']) {
        const front = await ask(d.url, p);
        const direct = await ask(d.fg.url, p);
        assert.equal(front.status, 200, p);
        assert.equal(front.headers['x-cache'], 'HIT', p);
        assert.equal(front.body, direct.body, p);
        assert.deepEqual(front.headers, direct.headers, p);
      }
      const rich = await ask(d.url, '/content/rich.html');
      assert.equal(rich.body, BODY.toString());
      assert.equal(rich.headers['etag'], '"rich-1"');
      assert.equal(rich.headers['last-modified'], LM);
      assert.equal(rich.headers['x-custom'], 'a value with "quotes" and \\ backslash');
      assert.equal(rich.headers['x-not-stored'], undefined);
      assert.equal((await ask(d.url, '/content/plain.html')).headers['last-modified'], undefined, 'no Last-Modified of the file itself');
      assert.equal((await ask(d.url, '/content/img/logo.png')).headers['content-type'], 'image/png');
    });

    it(kind === 'direct' ? 'HITs are counted by farmgate' : 'fresh HITs are answered by the front, without farmgate', async () => {
      assert.match(await fs.readFile(path.join(d.docroot('site'), 'content/tagged.html.h'), 'utf8'), /"tags":\[/);
      const before = await farmgateHits(d);
      const pages = ['/content/rich.html', '/content/plain.html', '/content/img/logo.png', '/content/tagged.html'];
      for (const p of pages) assert.equal((await ask(d.url, p)).headers['x-cache'], 'HIT', p);
      assert.equal(await farmgateHits(d), before + (kind === 'direct' ? pages.length : 0));
    });

    it('HEAD: the same headers, no body', async () => {
      const front = await ask(d.url, '/content/rich.html', {}, 'HEAD');
      const direct = await ask(d.fg.url, '/content/rich.html', {}, 'HEAD');
      assert.equal(front.status, 200);
      assert.equal(front.body, '');
      assert.deepEqual(front.headers, direct.headers);
      assert.equal(front.headers['content-length'], String(BODY.length));
    });

    it('Range: one range 206, several or odd ones the whole file, unsatisfiable 416, If-Range', async () => {
      const size = BODY.length;
      const cases: [Record<string, string>, number, string | undefined][] = [
        [{ range: 'bytes=0-9' }, 206, `bytes 0-9/${size}`],
        [{ range: 'bytes=10-' }, 206, `bytes 10-${size - 1}/${size}`],
        [{ range: 'bytes=-5' }, 206, `bytes ${size - 5}-${size - 1}/${size}`],
        [{ range: `bytes=5-${size + 100}` }, 206, `bytes 5-${size - 1}/${size}`],
        [{ range: `bytes=0-${size - 1}` }, 206, `bytes 0-${size - 1}/${size}`],
        [{ range: `bytes=-${size + 1}` }, 206, `bytes 0-${size - 1}/${size}`],
        [{ range: 'bytes=0-1,5-6' }, 200, undefined],
        [{ range: 'bytes=9-2' }, 200, undefined],
        [{ range: 'chunks=0-1' }, 200, undefined],
        [{ range: `bytes=${size}-` }, 416, `bytes */${size}`],
        [{ range: 'bytes=-0' }, 416, `bytes */${size}`],
        [{ range: 'bytes=0-9', 'if-range': '"rich-1"' }, 206, `bytes 0-9/${size}`],
        [{ range: 'bytes=0-9', 'if-range': '"other"' }, 200, undefined],
        [{ range: 'bytes=0-9', 'if-range': LM }, 206, `bytes 0-9/${size}`],
      ];
      for (const [headers, status, contentRange] of cases) {
        const front = await ask(d.url, '/content/rich.html', headers);
        const what = JSON.stringify(headers);
        assert.equal(front.status, status, what);
        assert.equal(front.headers['content-range'], contentRange, what);
        assert.equal(front.headers['x-cache'], 'HIT', what);
        if (status === 206) {
          const [a, b] = /bytes (\d+)-(\d+)/.exec(contentRange!)!.slice(1).map(Number) as [number, number];
          assert.equal(front.body, BODY.subarray(a, b + 1).toString(), what);
          assert.equal(front.headers['content-length'], String(b - a + 1), what);
          assert.equal(front.headers['etag'], '"rich-1"', what);
        }
        if (status === 200) assert.equal(front.body, BODY.toString(), what);
        const direct = await ask(d.fg.url, '/content/rich.html', headers);
        assert.equal(direct.status, front.status, what);
        assert.equal(direct.headers['content-range'], front.headers['content-range'], what);
        assert.equal(direct.body, front.body, what);
      }
    });

    it('conditional requests: 304 as farmgate answers them', async () => {
      const cases: Record<string, string>[] = [
        { 'if-none-match': '"rich-1"' },
        { 'if-none-match': 'W/"rich-1", "x"' },
        { 'if-none-match': '"other"' },
        { 'if-modified-since': LM },
        { 'if-modified-since': 'Mon, 30 Nov 2026 10:00:00 GMT' },
      ];
      for (const headers of cases) {
        const front = await ask(d.url, '/content/rich.html', headers);
        const direct = await ask(d.fg.url, '/content/rich.html', headers);
        assert.equal(front.status, direct.status, JSON.stringify(headers));
        assert.equal(front.headers['etag'], direct.headers['etag']);
        assert.equal(front.headers['x-cache'], 'HIT');
      }
      assert.equal((await ask(d.url, '/content/rich.html', { 'if-none-match': '"rich-1"' })).status, 304);
    });

    it('encoded and internal names are refused as farmgate refuses them, whatever is on disk', async () => {
      const doc = d.docroot('site');
      await fs.writeFile(path.join(doc, 'content/.fgtmp-rich.html.1.1'), 'temporary');
      const paths = [
        '/content/.stat',
        '/content/%2Estat',
        '/content/rich.html.h',
        '/content/rich.html%2Eh',
        '/content/rich.html.ttl',
        '/content/.fgtmp-rich.html.1.1',
        '/content/%2Efgtmp-rich.html.1.1',
        '/content/img%2Flogo.png',
        '/content/img%2flogo.png',
        '/content//rich.html',
        '/content/./rich.html',
        '/content/img/../rich.html',
        '/content/rich%2ehtml',
      ];
      for (const p of paths) {
        const front = await rawRequest(d.url, p, { host: HOST });
        const direct = await rawRequest(d.fg.url, p, { host: HOST });
        assert.equal(front.status, direct.status, p);
        assert.ok(!front.body.includes('temporary') && !front.body.includes('"v":1'), `${p}: ${front.body.slice(0, 80)}`);
        if (front.status === 200) assert.equal(front.body, direct.body, p);
      }
      await fs.rm(path.join(doc, 'content/.fgtmp-rich.html.1.1'));
    });

    it('a folder symlink leading out of the docroot is never served from', async () => {
      await fs.symlink(outside, path.join(d.docroot('site'), 'content/linked'));
      const front = await ask(d.url, '/content/linked/secret.html');
      const direct = await ask(d.fg.url, '/content/linked/secret.html');
      assert.ok(!front.body.includes('SECRET'), front.body);
      assert.ok(!direct.body.includes('SECRET'), direct.body);
      assert.equal(front.status, direct.status);
    });

    it('a file symlink leading out of the docroot is never served', async () => {
      await fs.symlink(path.join(outside, 'secret.html'), path.join(d.docroot('site'), 'content/secret.html'));
      const front = await ask(d.url, '/content/secret.html');
      assert.ok(!front.body.includes('SECRET'), `${kind}: ${front.body}`);
      const direct = await ask(d.fg.url, '/content/secret.html');
      assert.ok(!direct.body.includes('SECRET'), `direct: ${direct.body}`);
      // The link counted as not cached: the render's page replaced the link, not its target.
      assert.equal(await fs.readFile(path.join(outside, 'secret.html'), 'utf8').then((t) => t.includes('SECRET')), true);
    });

    it('a symlink that stays inside the docroot: the front leaves it to farmgate, same answer', async () => {
      await fs.mkdir(path.join(d.docroot('site'), 'content/real'), { recursive: true });
      await fs.copyFile(path.join(d.docroot('site'), 'content/plain.html'), path.join(d.docroot('site'), 'content/real/inside.html'));
      await fs.symlink(path.join(d.docroot('site'), 'content/real'), path.join(d.docroot('site'), 'content/alias'));
      const front = await ask(d.url, '/content/alias/inside.html');
      const direct = await ask(d.fg.url, '/content/alias/inside.html');
      assert.equal(front.status, direct.status);
      assert.equal(front.body, direct.body);
    });

    it('headers over server.limits.headerBytes and URLs over urlBytes get farmgate\'s 431 and 414, not a HIT', async () => {
      const big = await ask(d.url, '/content/rich.html', { cookie: `a=${'x'.repeat(17 * 1024)}` });
      assert.equal(big.status, 431);
      const long = await ask(d.url, `/content/${'a'.repeat(4100)}.html`);
      assert.equal(long.status, 414);
    });

    it('a file the front decided on but cannot open is answered by farmgate, with farmgate\'s headers only', async () => {
      // What a flush deleting the file between the front's decision and its open looks like:
      // the decision sees the file (stat needs no read permission), the open fails.
      await ask(d.url, '/content/locked.html'); // a MISS: farmgate stored it, the front never opened it
      const file = path.join(d.docroot('site'), 'content/locked.html');
      await fs.chmod(file, 0o000);
      try {
        const r = await rawRequest(d.url, '/content/locked.html', { host: HOST });
        const direct = await rawRequest(d.fg.url, '/content/locked.html', { host: HOST });
        assert.equal(r.status, direct.status);
        assert.equal(r.body, direct.body);
        assert.equal(r.headers['x-cache'], 'HIT', 'one X-Cache, farmgate\'s');
        assert.equal(r.headers['content-type'], direct.headers['content-type']);
      } finally {
        await fs.chmod(file, 0o644);
      }
    });

    it('the same URL by other request lines and Hosts: HTTP/1.0, another Host, no Host', async () => {
      // (the Apache front memoises routes by the raw request line and Host)
      const cases: { line: string; host?: string }[] = [
        { line: 'GET /content/rich.html HTTP/1.1', host: HOST },
        { line: 'GET /content/rich.html HTTP/1.0', host: HOST },
        { line: 'GET /content/rich.html HTTP/1.0' },
        { line: 'GET /content/rich.html HTTP/1.1', host: 'other.example' },
        { line: 'GET /content/rich.html HTTP/1.1', host: HOST },
        { line: 'HEAD /content/rich.html HTTP/1.0', host: HOST },
      ];
      for (const c of cases) {
        const front = await rawLine(d.url, c.line, c.host);
        const direct = await rawLine(d.fg.url, c.line, c.host);
        assert.equal(front.status, direct.status, `${c.line} ${c.host ?? '(no Host)'}`);
        assert.equal(front.cache, direct.cache, `${c.line} ${c.host ?? '(no Host)'}`);
        if (front.status === 200) assert.equal(front.body, direct.body, `${c.line} ${c.host ?? '(no Host)'}`);
      }
      assert.equal((await rawLine(d.url, 'GET /content/rich.html HTTP/1.0', HOST)).cache, 'HIT');
    });

    it('a request the front cannot decide exactly (non-ASCII path) is answered by farmgate', async () => {
      const p = '/content/%C3%BCber.html';
      const miss = await rawRequest(d.url, p, { host: HOST });
      assert.equal(miss.status, 200);
      const hit = await rawRequest(d.url, p, { host: HOST });
      assert.equal(hit.headers['x-cache'], 'HIT');
      assert.equal(hit.body, miss.body);
    });
  });

  if (kind !== 'direct') {
    describe(`${kind} front with farmgate stopped`, () => {
      let render: TestRender;
      let d: Deployment;
      before(async () => {
        render = await startRender((req, n) => ({ body: `${req.url} v${n}` }));
        d = await startDeployment(kind, oneFarmYaml(render.url, { statfileslevel: 1, statCheckIntervalMs: 60_000 }));
      });
      after(async () => {
        await d.close();
        await render.close();
      });

      it('serves fresh HITs, nothing stale; everything else gets 502 or 503', async () => {
        for (const p of ['/content/fresh.html', '/content/stale.html', '/content/other/kept.png']) {
          await ask(d.url, p);
          assert.equal((await ask(d.url, p)).headers['x-cache'], 'HIT');
        }
        await d.stopFarmgate();
        // A flush that reached the docroot while farmgate was down elsewhere (another process).
        await fs.writeFile(path.join(d.docroot('site'), 'content/.stat'), '');
        const fresh = await ask(d.url, '/content/other/kept.png');
        assert.equal(fresh.status, 200);
        assert.equal(fresh.headers['x-cache'], 'HIT');
        assert.equal(fresh.body, '/content/other/kept.png v1');
        for (const p of ['/content/stale.html', '/content/fresh.html', '/content/never.html', '/content/q.html?x=1']) {
          const r = await ask(d.url, p);
          assert.ok(r.status === 502 || r.status === 503, `${p}: ${r.status}`);
          assert.notEqual(r.headers['x-cache'], 'HIT', p);
        }
        const flush = await httpRequest(`${d.url}/dispatcher/invalidate.cache`, { method: 'POST', headers: { 'cq-handle': '/content/x' } });
        assert.ok(flush.status === 502 || flush.status === 503, `flush: ${flush.status}`);
      });
    });
  }
}
