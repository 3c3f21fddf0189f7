/**
 * Cache fills on fakes: what is stored (status 200, body not empty, no no-cache/private/Set-Cookie),
 * with which headers and expiry, what a waiting request is handed, and a render that fails
 * mid-body leaving nothing behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fill, InFlight, sendShared, type FillResult } from '../../src/serve/fill.js';
import { FakeResponse } from '../fakes/http.js';
import { fakeRuntime } from '../fakes/runtime.js';

async function run(cache: Record<string, unknown>, reply: Parameters<import('../fakes/render-client.js').FakeRender['route']>[1], docPath = '/content/p.html') {
  const f = await fakeRuntime(cache);
  f.render.route(docPath, reply);
  const { res, fake } = FakeResponse.for({ url: docPath, headers: { host: 'site.local' } });
  const result = await fill({
    rt: f.rt,
    farm: f.rt.farms[0]!,
    docPath,
    renderPath: docPath,
    headers: { host: 'site.local' },
    stale: undefined,
    res,
    headOnly: false,
    now: f.clock.now,
  });
  await fake.done;
  return { ...f, result, fake, stored: f.store.files.get(docPath) };
}

describe('fill', () => {
  it('stores a 200 with the configured headers only, mtime = render start, and answers MISS', async () => {
    const { result, fake, stored, store, clock } = await run({}, {
      headers: { 'content-type': 'text/html', 'x-internal': 'no', etag: '"v1"', dispatcher: 'x' },
      body: ['<html>', 'page', '</html>'],
    });
    assert.equal(result.outcome.kind, 'stored');
    assert.equal(stored?.data.toString(), '<html>page</html>');
    assert.equal(stored?.mtimeMs, clock.now());
    const entry = await store.lookup('/content/p.html');
    assert.deepEqual(entry?.headers, [['content-type', 'text/html'], ['etag', '"v1"']]);
    assert.equal(fake.header('x-cache'), 'MISS');
    assert.equal(fake.header('dispatcher'), undefined, 'the Dispatcher header never reaches the client');
    assert.equal(fake.body, '<html>page</html>');
  });

  it('enableTTL: the expiry comes from s-maxage, then max-age', async () => {
    const { store, clock } = await run({ enableTTL: true }, { headers: { 'cache-control': 'max-age=60, s-maxage=30' }, body: 'x' });
    assert.equal((await store.lookup('/content/p.html'))?.ttlExpiresMs, clock.now() + 30_000);
  });

  for (const [why, headers, status] of [
    ['Cache-Control: no-cache', { 'cache-control': 'no-cache' }, 200],
    ['Cache-Control: private', { 'cache-control': 'private' }, 200],
    ['Set-Cookie', { 'set-cookie': 'a=b' }, 200],
    ['Dispatcher: no-cache', { dispatcher: 'no-cache' }, 200],
    ['a 404', {}, 404],
  ] as [string, Record<string, string>, number][]) {
    it(`does not store a response with ${why}, and still answers it`, async () => {
      const { result, stored, fake } = await run({}, { status, headers, body: 'answer' });
      assert.equal(stored, undefined);
      assert.notEqual(result.outcome.kind, 'stored');
      assert.equal(fake.statusCode, status);
      assert.equal(fake.body, 'answer');
    });
  }

  it('an empty body is not stored', async () => {
    const { stored, result } = await run({}, { body: '' });
    assert.equal(stored, undefined);
    assert.notEqual(result.outcome.kind, 'stored');
  });

  it('a response not stored but shareable is handed to waiting requests; a private one is not', async () => {
    const shared = await run({}, { status: 404, headers: { 'content-type': 'text/plain' }, body: 'nope' });
    assert.equal(shared.result.outcome.kind, 'response');
    const { res, fake } = FakeResponse.for({ url: '/content/p.html' });
    sendShared(res, shared.result.outcome as Extract<FillResult['outcome'], { kind: 'response' }>);
    assert.deepEqual([fake.statusCode, fake.body, fake.header('x-cache'), fake.header('content-length')], [404, 'nope', 'MISS', '4']);
    const priv = await run({}, { headers: { 'cache-control': 'private' }, body: 'mine' });
    assert.equal(priv.result.outcome.kind, 'none');
  });

  it('a render that fails mid-body leaves no file and cuts the client off', async () => {
    const { result, stored, fake } = await run({}, { body: ['half a ', 'page'], failMidBody: new Error('socket hang up') });
    assert.equal(stored, undefined);
    assert.equal(result.outcome.kind, 'error');
    assert.equal(fake.destroyed, true);
  });

  it('InFlight clears its entry whatever the fill did, and a newer fill keeps the slot', async () => {
    const { store } = await fakeRuntime();
    const inFlight = new InFlight();
    const failing = inFlight.run(store, '/x.html', 1, async () => {
      throw new Error('boom');
    });
    assert.equal(inFlight.get(store, '/x.html')?.startedAt, 1);
    await assert.rejects(failing);
    assert.equal(inFlight.get(store, '/x.html'), undefined);
    let finish!: () => void;
    const older = inFlight.run(store, '/y.html', 1, () => new Promise<FillResult>((r) => (finish = () => r({ outcome: { kind: 'none' }, cache: 'MISS', status: 200, renderMs: 0 }))));
    const newer = inFlight.run(store, '/y.html', 2, async () => ({ outcome: { kind: 'stored' }, cache: 'MISS', status: 200, renderMs: 0 }));
    await newer;
    finish();
    await older;
    assert.equal(inFlight.get(store, '/y.html'), undefined);
  });
});
