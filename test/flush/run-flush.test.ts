/**
 * The flush operation on fakes, door by door: the same recording (recent list with scope and
 * door), metrics and refetch for every door; publishing only for local doors; retries for
 * propagated events; the cold flush touching every farm's root `.stat`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../src/errors.js';
import { RecentFlushes } from '../../src/flush/recent.js';
import { COLD_FLUSH, createFlushRunner } from '../../src/flush/run-flush.js';
import type { FlushAppliedEvent, FlushRequest, Refetcher } from '../../src/flush/types.js';
import { fakeRuntime } from '../fakes/runtime.js';

const flush = (over: Partial<FlushRequest> = {}): FlushRequest => ({
  action: 'Activate',
  scope: undefined,
  handle: '/content/site/en',
  routingKey: '/content/site/en',
  refetch: [],
  ...over,
});

async function setup(opts: { publish?: (e: FlushAppliedEvent) => Promise<void>; reject?: boolean } = {}) {
  const f = await fakeRuntime({}, '', (yaml) => (opts.reject ? yaml.replace('flush:\n', 'flush:\n  unrouted: reject\n') : yaml));
  const recent = new RecentFlushes();
  const published: FlushAppliedEvent[] = [];
  const refetched: string[] = [];
  const refetch: Refetcher = async (_rt, farm, uri) => {
    refetched.push(`${farm.name} ${uri} ${f.store.files.has('/content/site/en.html') ? 'before' : 'after'} the delete`);
    return { uri, ok: true, status: 200 };
  };
  const runFlush = createFlushRunner({
    refetch,
    recent,
    now: f.clock.now,
    publish: opts.publish ?? (async (e) => void published.push(e)),
  });
  const count = async (name: 'flushes' | 'flushUnrouted') => (await f.metrics[name].get()).values.map((v) => `${JSON.stringify(v.labels)} ${v.value}`);
  return { ...f, recent, published, refetched, runFlush, count };
}

describe('runFlush', () => {
  it('http door: applied, recorded with scope and door, counted, published, then refetched', async () => {
    const s = await setup();
    s.store.put('/content/site/en.html', 'old', s.clock.now() - 1000, [['content-type', 'text/html']]);
    const run = await s.runFlush(s.rt, flush({ refetch: ['/content/site/en.html'] }), { door: 'http', client: '127.0.0.1' });
    assert.equal(run.ok, true);
    assert.deepEqual(run.json.farms.map((f) => [f.farm, f.deleted, f.touched]), [['site', ['/content/site/en.html', '/content/site/en.html.h'], ['/.stat', '/content/.stat', '/content/site/.stat']]]);
    assert.deepEqual(s.refetched, ['site /content/site/en.html after the delete']);
    assert.deepEqual(s.published.map((e) => [e.flush.handle, e.at, e.farms]), [['/content/site/en', s.clock.now(), ['site']]]);
    const [rec] = s.recent.list();
    assert.deepEqual({ ...rec, ms: 0 }, {
      time: new Date(s.clock.now()).toISOString(),
      origin: 'web1',
      door: 'http',
      client: '127.0.0.1',
      action: 'Activate',
      scope: undefined,
      handle: '/content/site/en',
      path: '/content/site/en',
      farms: ['site'],
      touched: 3,
      deleted: 2,
      ms: 0,
      outcome: 'applied',
      status: 200,
      result: 'ok',
    });
    assert.deepEqual(await s.count('flushes'), ['{"farm":"site","action":"activate","result":"ok"} 1']);
    assert.equal((await s.metrics.flushDuration.get()).values.find((v) => v.metricName === 'farmgate_flush_duration_seconds_count')?.value, 1);
  });

  it('propagation door: recorded with its origin and scope, never published again', async () => {
    const s = await setup();
    const run = await s.runFlush(() => s.rt, flush({ scope: 'ResourceOnly' }), { door: 'propagation', client: 'web2', origin: 'web2' });
    assert.equal(run.ok, true);
    assert.deepEqual(s.published, []);
    assert.deepEqual(s.recent.list().map((r) => [r.door, r.origin, r.scope, r.touched]), [['propagation', 'web2', 'ResourceOnly', 0]]);
  });

  it('propagation door: a failing flush is retried on the schedule, then reported once', async () => {
    const s = await setup();
    s.store.gone = true;
    const slept: number[] = [];
    const run = await s.runFlush(() => s.rt, flush(), { door: 'propagation', client: 'web2', origin: 'web2' }, {
      delaysMs: [100, 400, 1500],
      sleep: async (ms) => {
        slept.push(ms);
        if (slept.length === 2) s.store.gone = false;
      },
    });
    assert.equal(run.ok, true, 'the third attempt succeeds');
    assert.equal(run.attempts, 3);
    assert.deepEqual(slept, [100, 400]);
    s.store.gone = true;
    const failed = await s.runFlush(() => s.rt, flush(), { door: 'propagation', client: 'web2' }, { delaysMs: [1, 1], sleep: async () => {} });
    assert.equal(failed.ok, false);
    assert.equal(failed.attempts, 3);
    assert.ok(!failed.ok && failed.error.code === 'FG_FLUSH_IO');
    assert.equal(s.recent.list().length, 2, 'one line per flush, not per attempt');
    assert.match(s.recent.list()[0]!.result, /docroot \/ unavailable/);
    assert.deepEqual([s.recent.list()[0]!.outcome, s.recent.list()[0]!.status], ['failed', 500]);
  });

  it('cold door: every farm, root .stat only, nothing deleted, counted as cold, not published', async () => {
    const s = await setup();
    s.store.put('/content/site/en.html', 'kept', s.clock.now() - 1000);
    const run = await s.runFlush(s.rt, COLD_FLUSH, { door: 'cold', client: 'web1', reason: 'trimmed' });
    assert.equal(run.ok, true);
    assert.deepEqual(run.json.farms.map((f) => [f.farm, f.route, f.deleted, f.touched]), [['site', '*', [], ['/.stat']]]);
    assert.ok(s.store.files.has('/content/site/en.html'));
    assert.deepEqual(s.published, []);
    assert.deepEqual(await s.count('flushes'), ['{"farm":"site","action":"cold","result":"ok"} 1']);
    assert.equal(s.recent.list()[0]!.door, 'cold');
  });

  it('unrouted: counted for every door; reject refuses local doors only; both listed with the reason, and Test too', async () => {
    const t = await setup({ reject: true });
    const other = flush({ handle: '/etc/x', routingKey: '/etc/x' });
    await assert.rejects(t.runFlush(t.rt, other, { door: 'http', client: '127.0.0.1' }), (err: unknown) => err instanceof AppError && err.code === 'FG_FLUSH_UNROUTED');
    const remote = await t.runFlush(() => t.rt, other, { door: 'propagation', client: 'web2' });
    assert.equal(remote.ok && remote.json.unrouted, true, 'another server may route it; nothing to refuse here');
    assert.equal((await t.metrics.flushUnrouted.get()).values[0]!.value, 2);
    const test = await t.runFlush(t.rt, flush({ action: 'Test' }), { door: 'http', client: '127.0.0.1' });
    assert.deepEqual(test.json.farms.map((f) => f.farm), ['site']);
    assert.equal(t.published.length, 0, 'Test and unrouted flushes are never published');
    assert.deepEqual(
      t.recent.list().map((r) => [r.door, r.client, r.action, r.handle, r.farms, r.outcome, r.status, r.result]),
      [
        ['http', '127.0.0.1', 'Test', '/content/site/en', ['site'], 'test', 200, 'Test: nothing done'],
        ['propagation', 'web2', 'Activate', '/etc/x', [], 'unrouted', 200, 'no farm routes CQ-Path /etc/x: nothing done'],
        ['http', '127.0.0.1', 'Activate', '/etc/x', [], 'unrouted', 404, 'no farm routes CQ-Path /etc/x (flush.unrouted: reject)'],
      ],
    );
  });

  it('a publish that fails answers FG_FLUSH_NOT_RECORDED after applying locally', async () => {
    const s = await setup({ publish: async () => Promise.reject(new Error('outbox full')) });
    await assert.rejects(s.runFlush(s.rt, flush(), { door: 'admin', client: 'admin' }), (err: unknown) => err instanceof AppError && err.code === 'FG_FLUSH_NOT_RECORDED');
    assert.equal(await s.store.readStat(s.store.statLookup('/content/site/en.html', 2)), s.clock.now(), 'applied');
    const [rec] = s.recent.list();
    assert.deepEqual([rec!.outcome, rec!.status, rec!.touched], ['failed', 503, 3], 'listed as the sender saw it: 503, applied here');
    assert.match(rec!.result, /not recorded: outbox full/);
  });
});
