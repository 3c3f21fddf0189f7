/**
 * Flushes and the serving path together, once per deployment (farmgate direct, the nginx front,
 * the Apache front): a flush takes effect at once for every later request, with
 * statCheckIntervalMs set high so nothing here relies on noticing the disk. Through a front this
 * is the front finding the touched `.stat` itself on the very next request.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEPLOYMENTS, startDeployment, until, type Deployment } from '../helpers/deployments.js';
import { oneFarmYaml } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const HOST = 'site.local';

async function get(d: Deployment, p: string) {
  const res = await d.request(p, { host: HOST });
  return { status: res.status, cache: res.headers.get('x-cache'), body: await res.text() };
}

async function flush(d: Deployment, handle: string, opts: { action?: string; body?: string; scope?: string } = {}) {
  const headers: Record<string, string> = { 'cq-action': opts.action ?? 'Activate', 'cq-handle': handle, accept: 'application/json' };
  if (opts.scope) headers['cq-action-scope'] = opts.scope;
  if (opts.body !== undefined) headers['content-type'] = 'text/plain';
  const res = await d.request('/dispatcher/invalidate.cache', { method: 'POST', headers, body: opts.body ?? '' });
  assert.equal(res.status, 200, await res.text().catch(() => ''));
  return JSON.parse(await res.text());
}

for (const kind of DEPLOYMENTS) {
  describe(`flush then serve (${kind})`, () => {
    let render: TestRender;
    let d: Deployment;
    before(async () => {
      render = await startRender((req, n) => ({ body: `${req.url} v${n}`, delayMs: req.url?.includes('slow') && n === 1 ? 400 : 0 }));
      d = await startDeployment(kind, oneFarmYaml(render.url, { statfileslevel: 3, statCheckIntervalMs: 60_000 }));
    });
    after(async () => {
      await d.close();
      await render.close();
    });

    it('Activate: the page is re-fetched, a sibling *.html under a touched .stat too, a .png stays HIT', async () => {
      for (const p of ['/content/site/en/page.html', '/content/site/en/sibling.html', '/content/site/en/logo.png', '/content/site/de/other.html']) {
        assert.equal((await get(d, p)).cache, 'MISS');
        // twice: through Apache, the second HIT is answered by mod_farmgate from the Lua's plan
        assert.equal((await get(d, p)).cache, 'HIT');
        assert.equal((await get(d, p)).cache, 'HIT');
      }
      const json = await flush(d, '/content/site/en/page');
      assert.deepEqual(json.farms[0].touched, ['/.stat', '/content/.stat', '/content/site/.stat', '/content/site/en/.stat']);
      assert.ok(json.farms[0].deleted.includes('/content/site/en/page.html'));

      const page = await get(d, '/content/site/en/page.html');
      assert.equal(page.cache, 'MISS');
      assert.equal(page.body, '/content/site/en/page.html v2');
      const sibling = await get(d, '/content/site/en/sibling.html');
      assert.equal(sibling.cache, 'MISS', 'nearest .stat /content/site/en/.stat was touched');
      assert.equal((await get(d, '/content/site/en/logo.png')).cache, 'HIT', 'not allowed by cache.invalidate');
      // /content/site/de has no .stat of its own yet: its nearest is /content/site/.stat, touched.
      assert.equal((await get(d, '/content/site/de/other.html')).cache, 'MISS');
      assert.equal((await get(d, '/content/site/en/sibling.html')).cache, 'HIT');
    });

    it('ResourceOnly: only the handle’s own files go; siblings stay HIT', async () => {
      await get(d, '/content/site/ro/a.html');
      await get(d, '/content/site/ro/b.html');
      const json = await flush(d, '/content/site/ro/a', { scope: 'ResourceOnly' });
      assert.deepEqual(json.farms[0].touched, []);
      assert.equal((await get(d, '/content/site/ro/a.html')).cache, 'MISS');
      assert.equal((await get(d, '/content/site/ro/b.html')).cache, 'HIT');
    });

    it('Delete removes the folder H: a child page is gone, not served from memory', async () => {
      await get(d, '/content/site/gone.html');
      await get(d, '/content/site/gone/child.png');
      assert.equal((await get(d, '/content/site/gone/child.png')).cache, 'HIT');
      await flush(d, '/content/site/gone', { action: 'Delete' });
      await assert.rejects(fs.stat(path.join(d.docroot('site'), 'content/site/gone/child.png')));
      // The folder itself comes back holding only the .stat the flush touched at level 3.
      assert.deepEqual(await fs.readdir(path.join(d.docroot('site'), 'content/site/gone')), ['.stat']);
      assert.equal((await get(d, '/content/site/gone/child.png')).cache, 'MISS', 'a .png is not auto-invalidated, but its folder was deleted');
    });

    it('the flush-during-render race: a flush landing while a render is in flight leaves that file stale', async () => {
      const before = render.requests.length;
      const slow = get(d, '/content/site/slow.html');
      await render.arrived(before + 1);
      await flush(d, '/content/site/slow');
      const first = await slow;
      assert.equal(first.body, '/content/site/slow.html v1');
      const next = await get(d, '/content/site/slow.html');
      assert.equal(next.cache, 'MISS', 'the file written after the flush carries the render start time, before the flush');
      assert.equal(next.body, '/content/site/slow.html v2');
    });

    it('invalidate-and-refetch replaces the cached page at flush time', async () => {
      await get(d, '/content/site/rf.html');
      const before = render.count('/content/site/rf.html');
      const json = await flush(d, '/content/site/rf', { body: '/content/site/rf.html\n' });
      assert.deepEqual(json.farms[0].refetch.map((r: { uri: string; ok: boolean }) => [r.uri, r.ok]), [['/content/site/rf.html', true]]);
      assert.equal(render.count('/content/site/rf.html'), before + 1, 'fetched during the flush');
      const r = await get(d, '/content/site/rf.html');
      assert.equal(r.cache, 'HIT');
      assert.equal(r.body, `/content/site/rf.html v${before + 1}`);
      assert.equal(render.count('/content/site/rf.html'), before + 1);
    });

    it('a .stat touched by a flush that never passed through this server (propagation) takes effect at once', async () => {
      await get(d, '/content/site/prop.html');
      assert.equal((await get(d, '/content/site/prop.html')).cache, 'HIT');
      // What applying a propagated event does: the same docroot store, no HTTP request here.
      const rt = d.fg.app.runtime();
      const cache = rt.cacheFor(rt.farms[0]!);
      await cache.touchStat('/content/site', Date.now());
      const r = await get(d, '/content/site/prop.html');
      assert.equal(r.cache, 'MISS');
    });
  });
}
