/**
 * Tag and path invalidations across the web farm (contract section 4a: "Tag and path
 * invalidations propagate across the web farm as flushes do (event `payload` gains `tags`)"):
 * three servers on one real redis-server; an invalidation sent to A deletes the tagged files on B
 * and C, within the farms it names; a server that was down catches up when it starts again.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { signBody } from '../../src/invalidation/signature.js';
import { httpRequest } from '../helpers/farmgate.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { farmServer, mtimeMs, waitFor, type FarmServer } from '../../support/web-farm.js';

const API_SECRET = 'farm-api-secret-0123456789';
let redis: TestRedis;
let farm: FarmServer[] = [];
let streamNo = 0;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});
afterEach(async () => {
  await Promise.all(farm.map((s) => s.destroy()));
  farm = [];
});

async function servers(n = 3): Promise<FarmServer[]> {
  const stream = `farmgate:tags:${process.pid}:${++streamNo}`;
  const extraYaml = `invalidation:\n  api:\n    secret: "${API_SECRET}"\n`;
  farm = await Promise.all(['web-a', 'web-b', 'web-c'].slice(0, n).map((name) => farmServer(name, redis.url, { stream, extraYaml })));
  return farm;
}

/** Stores a page with tags through the server's own store (as a render's response would). */
async function cache(s: FarmServer, farmName: string, docPath: string, tags: string[]): Promise<void> {
  const rt = s.app.runtime();
  const farmObj = rt.farms.find((f) => f.name === farmName)!;
  const w = rt.cacheFor(farmObj).beginWrite(docPath, Date.now() - 1000);
  w.write(Buffer.from(`<html>${docPath}</html>`));
  assert.equal(await w.commit({ headers: [['content-type', 'text/html']], ttlExpiresMs: undefined, tags }), true);
}

const exists = async (s: FarmServer, farmName: string, docPath: string) => (await mtimeMs(path.join(s.docroot(farmName), docPath))) !== undefined;

async function invalidate(s: FarmServer, body: Record<string, unknown>): Promise<number> {
  const text = JSON.stringify(body);
  const res = await httpRequest(s.url + '/farmgate/v1/invalidate', { method: 'POST', headers: { 'X-Farmgate-Signature': signBody(text, API_SECRET) }, body: text });
  await res.text();
  return res.status;
}

describe('tag invalidations across the web farm', () => {
  it('a tag sent to A deletes the tagged files on B and C; untagged files stay; A applies it once', async () => {
    const [a, b, c] = await servers();
    for (const s of [a!, b!, c!]) {
      await cache(s, 'site-a', '/content/site-a/p42.html', ['product-42']);
      await cache(s, 'site-b', '/content/site-b/p42.html', ['product-42', 'nav']);
      await cache(s, 'site-a', '/content/site-a/other.html', ['nav']);
    }
    assert.equal(await invalidate(a!, { tags: ['product-42'] }), 200);
    assert.equal(await exists(a!, 'site-a', '/content/site-a/p42.html'), false, 'applied on A before the 200');
    for (const s of [b!, c!]) {
      await waitFor(`tag applied on ${s.name}`, async () => !(await exists(s, 'site-a', '/content/site-a/p42.html')) && !(await exists(s, 'site-b', '/content/site-b/p42.html')), 3000);
      assert.equal(await exists(s, 'site-a', '/content/site-a/other.html'), true);
      const recent = s.app.recentFlushes.list().find((r) => r.handle === 'tags: product-42');
      assert.equal(recent?.door, 'propagation', 'listed in the recent flushes with its door');
      assert.equal(recent?.origin, 'web-a');
    }
    await waitFor('A skipped its own event', () => a!.app.propagation!.status().published === 1 && a!.app.propagation!.status().applied === 0);
  });

  it('farms restricts tags and paths on every server', async () => {
    const [a, b] = await servers(2);
    for (const s of [a!, b!]) {
      await cache(s, 'site-a', '/content/site-a/x.html', ['shared']);
      await cache(s, 'site-b', '/content/site-b/x.html', ['shared']);
    }
    assert.equal(await invalidate(a!, { tags: ['shared'], paths: ['/content/dam/logo'], farms: ['site-b'] }), 200);
    await waitFor('site-b flushed on B', async () => !(await exists(b!, 'site-b', '/content/site-b/x.html')), 3000);
    await waitFor('the dam path flushed on B', async () => (await mtimeMs(path.join(b!.docroot('site-b'), 'content/dam/.stat'))) !== undefined, 3000);
    assert.equal(await exists(b!, 'site-a', '/content/site-a/x.html'), true, 'site-a not named: its tagged file stays');
    assert.equal(await mtimeMs(path.join(b!.docroot('site-a'), 'content/dam/.stat')), undefined, 'and no .stat touched in site-a, though /content/dam routes there too');
  });

  it('a server that was down catches up on the tag invalidations it missed (its index survived the restart)', async () => {
    const [a, b] = await servers(2);
    await cache(b!, 'site-a', '/content/site-a/late.html', ['campaign']);
    await b!.stop();
    assert.equal(await invalidate(a!, { tags: ['campaign'] }), 200);
    assert.equal(await exists(b!, 'site-a', '/content/site-a/late.html'), true, 'B is down: nothing changed yet');
    await b!.start();
    await waitFor('B caught up', async () => !(await exists(b!, 'site-a', '/content/site-a/late.html')), 5000);
    await fs.access(b!.docroot('site-a'));
  });
});
