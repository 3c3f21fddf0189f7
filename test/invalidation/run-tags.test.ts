/**
 * The tag operation on fakes: every door records it in the recent list and counts it; a local
 * door publishes it for the web farm (a failure to publish is a 503, after the local delete); a
 * propagated one is never published again and is retried when a farm fails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentFlushes } from '../../src/flush/recent.js';
import { createTagRunner, type TagsAppliedEvent } from '../../src/invalidation/run-tags.js';
import { fakeRuntime } from '../fakes/runtime.js';

async function setup(publish?: (e: TagsAppliedEvent) => Promise<void>) {
  const f = await fakeRuntime();
  const recent = new RecentFlushes();
  const published: TagsAppliedEvent[] = [];
  const runTags = createTagRunner({ recent, now: f.clock.now, publish: publish ?? (async (e) => void published.push(e)) });
  for (const [p, tags] of [['/content/a.html', ['product-42', 'nav']], ['/content/b.html', ['nav']], ['/content/c.html', ['other']]] as const) {
    const w = f.store.beginWrite(p, f.clock.now() - 10);
    w.write(Buffer.from('x'));
    assert.equal(await w.commit({ headers: [], ttlExpiresMs: undefined, tags: [...tags] }), true);
  }
  return { ...f, recent, published, runTags };
}

describe('runTags', () => {
  it('a local door deletes the tagged files, records, counts and publishes', async () => {
    const s = await setup();
    const run = await s.runTags(s.rt, { tags: ['nav'], action: 'Activate', farms: undefined }, { door: 'api', client: '10.0.0.1' });
    assert.equal(run.ok, true);
    assert.deepEqual(run.farms, [{ farm: 'site', deleted: ['/content/a.html', '/content/b.html'], byTag: { nav: 2 } }]);
    assert.equal(s.store.files.has('/content/a.html'), false);
    assert.equal(s.store.files.has('/content/a.html.h'), false, 'with its .h');
    assert.equal(s.store.files.has('/content/c.html'), true);
    assert.deepEqual(s.published.map((e) => e.tags), [['nav']]);
    const r = s.recent.list()[0]!;
    assert.deepEqual([r.door, r.handle, r.deleted, r.touched, r.result], ['api', 'tags: nav', 2, 0, 'ok']);
    const m = (await s.metrics.flushes.get()).values.find((v) => v.labels.action === 'tag');
    assert.equal(m?.value, 1);
  });

  it('a propagated one is not published again; a farm not named is not touched', async () => {
    const s = await setup();
    const run = await s.runTags(() => s.rt, { tags: ['nav'], action: 'Delete', farms: ['elsewhere'] }, { door: 'propagation', client: 'web2', origin: 'web2' });
    assert.equal(run.ok, true);
    assert.deepEqual(run.farms, []);
    assert.equal(s.store.files.has('/content/a.html'), true);
    assert.deepEqual(s.published, []);
    assert.equal(s.recent.list()[0]!.origin, 'web2');
  });

  it('applied locally but not recorded for the web farm → FG_FLUSH_NOT_RECORDED (503)', async () => {
    const s = await setup(async () => {
      throw new Error('outbox full');
    });
    await assert.rejects(s.runTags(s.rt, { tags: ['product-42'], action: 'Activate', farms: undefined }, { door: 'webhook', client: 'webhook:cms' }), (err: { code?: string; status?: number }) => err.code === 'FG_FLUSH_NOT_RECORDED' && err.status === 503);
    assert.equal(s.store.files.has('/content/a.html'), false, 'the local delete stands');
  });

  it('a failing farm is retried with the schedule it is given, then reported', async () => {
    const s = await setup();
    const original = s.store.remove.bind(s.store);
    let calls = 0;
    s.store.remove = async (p: string) => {
      calls++;
      if (calls <= 2) throw new Error('EIO');
      return original(p);
    };
    const sleeps: number[] = [];
    const run = await s.runTags(() => s.rt, { tags: ['other'], action: 'Activate', farms: undefined }, { door: 'propagation', client: 'web2' }, { delaysMs: [5, 10, 20], sleep: async (ms) => void sleeps.push(ms) });
    assert.equal(run.ok, true);
    assert.equal(run.attempts, 3);
    assert.deepEqual(sleeps, [5, 10]);
  });
});
