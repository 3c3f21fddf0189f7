/**
 * Tags on the miss path, on fakes: the render's tag headers tag the stored file (in its `.h` and
 * in the index), are hidden from the client unless `exposeTags`, and an oversized header is cut
 * by rule with the page still stored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTags } from '../../src/cache/sidecars.js';
import { fill } from '../../src/serve/fill.js';
import { FakeResponse } from '../fakes/http.js';
import { fakeRuntime, type FakeRuntime } from '../fakes/runtime.js';

async function run(f: FakeRuntime, headers: Record<string, string | string[]>, docPath = '/content/p.html', startedAt?: number) {
  f.render.route(docPath, { headers: { 'content-type': 'text/html', ...headers }, body: 'page' });
  const { res, fake } = FakeResponse.for({ url: docPath, headers: { host: 'site.local' } });
  const result = await fill({ rt: f.rt, farm: f.rt.farms[0]!, docPath, renderPath: docPath, headers: {}, stale: undefined, res, headOnly: false, now: f.clock.now, ...(startedAt ? { startedAt } : {}) });
  await fake.done;
  return { result, fake };
}

describe('fill with tags', () => {
  it('records Surrogate-Key, xkey and Cache-Tag tags; the client sees none of them', async () => {
    const f = await fakeRuntime({ headers: ['Content-Type', 'Surrogate-Key'] });
    const { result, fake } = await run(f, { 'surrogate-key': 'page-1 nav', xkey: 'product-42', 'cache-tag': 'nav,footer' });
    assert.equal(result.outcome.kind, 'stored');
    assert.equal(fake.header('surrogate-key'), undefined);
    assert.equal(fake.header('xkey'), undefined);
    assert.equal(fake.header('cache-tag'), undefined);
    assert.deepEqual(f.rt.tagsFor(f.rt.farms[0]!).tagsOf('/content/p.html'), ['page-1', 'nav', 'product-42', 'footer']);
    assert.deepEqual(decodeTags(f.store.files.get('/content/p.html.h')?.data.toString()), ['page-1', 'nav', 'product-42', 'footer']);
    const hit = await f.store.lookup('/content/p.html');
    assert.deepEqual(hit?.headers, [['content-type', 'text/html']], 'a hit cannot replay a tag header, even one listed in cache.headers');
  });

  it('stored again: the old tags are replaced', async () => {
    const f = await fakeRuntime();
    await run(f, { 'surrogate-key': 'a b' });
    f.clock.advance(10);
    await run(f, { 'surrogate-key': 'c' });
    const tags = f.rt.tagsFor(f.rt.farms[0]!);
    assert.deepEqual(tags.tagsOf('/content/p.html'), ['c']);
    assert.deepEqual(await tags.filesWith(['a', 'b']), []);
  });

  it('exposeTags passes them to the client and the hit replays them', async () => {
    const f = await fakeRuntime({ exposeTags: true });
    const { fake } = await run(f, { 'surrogate-key': 'page-1' });
    assert.equal(fake.header('surrogate-key'), 'page-1');
    assert.deepEqual((await f.store.lookup('/content/p.html'))?.headers, [['content-type', 'text/html'], ['surrogate-key', 'page-1']]);
  });

  it('tagHeaders is configurable; other headers do not tag', async () => {
    const f = await fakeRuntime({ tagHeaders: ['Edge-Cache-Tag'] });
    const { fake } = await run(f, { 'edge-cache-tag': 'akamai-1', 'surrogate-key': 'not-a-tag-here' });
    assert.deepEqual(f.rt.tagsFor(f.rt.farms[0]!).tagsOf('/content/p.html'), ['akamai-1']);
    assert.equal(fake.header('surrogate-key'), 'not-a-tag-here', 'not a tag header of this farm: passed on');
    assert.equal(fake.header('edge-cache-tag'), undefined);
  });

  it('an oversized tag header is cut by rule, counted, and the page still stored', async () => {
    const f = await fakeRuntime();
    const many = ['own-page', 'x'.repeat(1025), ...Array.from({ length: 1200 }, (_, i) => `t${i}`)].join(' ');
    const { result } = await run(f, { 'surrogate-key': many });
    assert.equal(result.outcome.kind, 'stored');
    const kept = f.rt.tagsFor(f.rt.farms[0]!).tagsOf('/content/p.html')!;
    assert.equal(kept.length, 1000);
    assert.equal(kept[0], 'own-page');
    const dropped = (await f.metrics.tagsDropped.get()).values;
    assert.deepEqual(dropped.map((v) => [v.labels.reason, v.value]).sort(), [['invalid', 1], ['too-many', 201]]);
  });

  it('a render that started before one of its tags was invalidated is not stored', async () => {
    const f = await fakeRuntime();
    const startedAt = f.clock.now();
    f.clock.advance(5);
    f.rt.tagsFor(f.rt.farms[0]!).fences.note(['product-42']);
    const { result, fake } = await run(f, { 'surrogate-key': 'page-1 product-42' }, '/content/p.html', startedAt);
    assert.notEqual(result.outcome.kind, 'stored');
    assert.equal(fake.body, 'page', 'the client that asked still gets it');
    assert.equal(f.store.files.get('/content/p.html'), undefined);
  });
});
