/**
 * Disk faults: a docroot that becomes read-only or full (a small tmpfs). Pages are still served
 * from the render (X-Cache: PASS once the fault is known), the error is logged and counted,
 * nothing crashes, and flushes answer with a clear 5xx instead of pretending.
 * Needs root to mount a tmpfs; skipped with a message where it cannot.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testClock } from '../helpers/clock.js';
import { startFarmgate, tempDir, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

function tryMount(dir: string, sizeKb: number): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

const yaml = (render: string, docroot: string) => `server:
  listen: "127.0.0.1:0"
farms:
  - name: site
    virtualhosts: ["site.local"]
    docroot: ${docroot}
    renders:
      - url: ${render}
    cache:
      statfileslevel: 1
      statCheckIntervalMs: 50
    flushRoutes: ["/content/**"]
`;

describe('disk faults', () => {
  let dir: string;
  let docroot: string;
  let mountProblem: string | undefined;
  let render: TestRender;
  let fg: TestFarmgate | undefined;
  const clock = testClock();
  before(async () => {
    dir = await tempDir('farmgate-disk-');
    docroot = path.join(dir, 'docroot');
    await fs.mkdir(docroot);
    mountProblem = tryMount(docroot, 256);
    render = await startRender((req, n) => ({ body: `${req.url} ${n} `.padEnd(20_000, '-') }));
    if (!mountProblem) fg = await startFarmgate(yaml(render.url, docroot), { now: clock.now });
  });
  after(async () => {
    await fg?.close();
    await render.close();
    if (!mountProblem) execFileSync('umount', ['-l', docroot]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  const get = async (p: string) => {
    const r = await fg!.request(p, { host: 'site.local' });
    return { status: r.status, cache: r.headers.get('x-cache'), body: await r.text() };
  };
  const writeErrors = async () => {
    const text = await fg!.app.metrics.registry.getSingleMetricAsString('farmgate_cache_write_errors_total');
    return Number(/farmgate_cache_write_errors_total\{farm="site"\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  it('read-only docroot: pages come from the render, cached pages stay HITs, flushes answer 500', async (t) => {
    if (mountProblem) return t.skip(`cannot mount a tmpfs here: ${mountProblem}`);
    assert.equal((await get('/content/before.html')).cache, 'MISS');
    assert.equal((await get('/content/before.html')).cache, 'HIT');
    execFileSync('mount', ['-o', 'remount,ro', docroot]);
    try {
      const first = await get('/content/ro1.html');
      assert.equal(first.status, 200);
      assert.match(first.body, /^\/content\/ro1\.html 1/);
      const second = await get('/content/ro2.html');
      assert.equal(second.status, 200);
      assert.equal(second.cache, 'PASS', 'once the docroot refuses writes, misses pass');
      assert.equal((await get('/content/before.html')).cache, 'HIT');
      assert.ok((await writeErrors()) >= 1);
      const flush = await fg!.request('/dispatcher/invalidate.cache', { headers: { 'cq-action': 'Activate', 'cq-handle': '/content/before' } });
      assert.equal(flush.status, 500);
      assert.match(await flush.text(), /read-only file system|EROFS/i);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', docroot]);
    }
  });

  it('full docroot: pages come from the render, no partial file is left, nothing crashes', async (t) => {
    if (mountProblem) return t.skip(`cannot mount a tmpfs here: ${mountProblem}`);
    clock.advance(5100); // past the read-only episode's degraded window, on farmgate's clock
    const filler = path.join(docroot, 'filler');
    await fs.writeFile(filler, Buffer.alloc(240 * 1024)).catch(() => {});
    try {
      const errorsBefore = await writeErrors();
      for (let i = 0; i < 5; i++) {
        const r = await get(`/content/full${i}.html`);
        assert.equal(r.status, 200);
        assert.match(r.body, new RegExp(`^/content/full${i}\\.html 1`));
      }
      assert.ok((await writeErrors()) > errorsBefore, 'write failures are counted');
      const names = await fs.readdir(path.join(docroot, 'content'));
      assert.deepEqual(names.filter((n) => n.startsWith('.fgtmp-')), [], 'no temporary file left');
      for (const n of names.filter((x) => x.startsWith('full') && !x.endsWith('.h'))) {
        const st = await fs.stat(path.join(docroot, 'content', n));
        assert.equal(st.size, 20_000, `${n} is complete if present`);
      }
    } finally {
      await fs.rm(filler, { force: true });
    }
  });
});
