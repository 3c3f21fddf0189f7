/**
 * The consumer on the fake stream client: events applied once each, in stream order, acked after
 * applying; own events, duplicates and forged events skipped; a hold keeps events pending until
 * release; a failing event is recorded and does not block the next; a trimmed pending entry
 * cold-flushes. The applier is a stub: what applying means is run-flush's test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import type { RemoteOutcome } from '../../src/propagation/apply-remote.js';
import { Consumer } from '../../src/propagation/consumer.js';
import { encodeEvent, type FlushEvent, type PropagatedEvent } from '../../src/propagation/event.js';
import { Session } from '../../src/propagation/session.js';
import { testClock } from '../helpers/clock.js';
import { FakeStreamClient } from '../fakes/stream-client.js';

const SECRET = 'consumer-test-secret-0123456789';
const event = (id: string, origin = 'web2', over: Partial<FlushEvent> = {}): FlushEvent => ({
  id,
  origin,
  ts: 1,
  action: 'Activate',
  scope: null,
  handle: `/content/${id}`,
  path: `/content/${id}`,
  refetch: [],
  ...over,
});

async function setup(apply: (e: PropagatedEvent) => RemoteOutcome | Promise<RemoteOutcome> = () => ({ farms: ['site'], attempts: 1, error: undefined })) {
  const clock = testClock('manual');
  const client = new FakeStreamClient(clock.now);
  await client.connect();
  await client.createGroup('web1', '$');
  const session = new Session();
  session.join('epoch-1');
  const applied: string[] = [];
  const colds: string[] = [];
  let lost = 0;
  const metrics = createMetrics();
  const consumer = new Consumer({
    client,
    group: 'web1',
    secret: SECRET,
    log: silentLogger,
    metrics,
    apply: async (e) => {
      applied.push('handle' in e ? e.handle : `tags: ${e.tags.join(' ')}`);
      return apply(e);
    },
    retryDelaysMs: [],
    blockMs: 1000,
    batch: 10,
    now: clock.now,
    session,
    onLostGroup: () => void lost++,
    coldFlush: async (reason) => void colds.push(reason),
    onRead: () => undefined,
  });
  const publish = async (e: FlushEvent) => client.add(encodeEvent(e, SECRET), '0-0');
  /** Waits until the consumer has handled (acked) everything published so far. */
  const drained = async () => {
    while ((await client.groups())[0]!.lag !== 0 || (await client.groups())[0]!.pending !== 0) await new Promise((r) => setImmediate(r));
  };
  const stop = async () => {
    const stopping = consumer.stop();
    client.down();
    await stopping;
  };
  return { clock, client, session, consumer, applied, colds, metrics, publish, drained, stop, lost: () => lost };
}

describe('Consumer', () => {
  it('applies every event once, in stream order, and acks it after', async () => {
    const s = await setup();
    s.consumer.start();
    for (const id of ['a', 'b', 'c']) await s.publish(event(id));
    await s.drained();
    assert.deepEqual(s.applied, ['/content/a', '/content/b', '/content/c']);
    assert.deepEqual(s.consumer.history.map((h) => h.result), ['applied', 'applied', 'applied']);
    assert.equal(s.consumer.counts.applied, 3);
    await s.stop();
  });

  it('skips its own events and duplicate ids; rejects a forged or foreign-version event, applying nothing', async () => {
    const s = await setup();
    s.consumer.start();
    await s.publish(event('mine', 'web1'));
    await s.publish(event('d1'));
    await s.publish(event('d1'));
    const forged = encodeEvent(event('evil'), 'another-secret-of-enough-length');
    await s.client.addRaw({ v: forged.v, payload: forged.payload, sig: forged.sig });
    await s.client.addRaw({ v: '2', payload: '{}', sig: '00' });
    await s.drained();
    assert.deepEqual(s.applied, ['/content/d1']);
    assert.deepEqual(s.consumer.counts, { applied: 1, failed: 0, rejected: 2, duplicate: 1, own: 1 });
    const rejected = (await s.metrics.propagationRejected.get()).values.map((v) => `${v.labels.reason} ${v.value}`).sort();
    assert.deepEqual(rejected, ['signature 1', 'version 1']);
    await s.stop();
  });

  it('held: events stay pending, not applied; on release they are applied in order', async () => {
    const s = await setup();
    s.session.setHeld(true);
    s.consumer.start();
    await s.publish(event('h1'));
    await s.publish(event('h2'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(s.applied, []);
    s.consumer.rewind();
    s.session.setHeld(false);
    await s.drained();
    assert.deepEqual(s.applied, ['/content/h1', '/content/h2']);
    await s.stop();
  });

  it('an event that fails is recorded as failed and does not block the next', async () => {
    const s = await setup((e) => (e.id === 'bad' ? { farms: [], attempts: 3, error: 'EROFS' } : { farms: ['site'], attempts: 1, error: undefined }));
    s.consumer.start();
    await s.publish(event('bad'));
    await s.publish(event('good'));
    await s.drained();
    assert.deepEqual(s.applied, ['/content/bad', '/content/good']);
    assert.deepEqual(s.consumer.failed.map((f) => [f.handle, f.error, f.attempts]), [['/content/bad', 'EROFS', 3]]);
    assert.equal((await s.metrics.propagationFailed.get()).values[0]!.value, 1);
    await s.stop();
  });

  it('a pending entry trimmed before it was applied cold-flushes; a vanished group asks to rejoin', async () => {
    const s = await setup();
    s.session.setHeld(true);
    s.consumer.start();
    await s.publish(event('t1'));
    // Deliver it (pending), then let retention trim it away.
    await s.client.read('web1', '>', 10, 0);
    s.client.entries = [];
    s.consumer.rewind();
    s.session.setHeld(false);
    await s.drained();
    assert.equal(s.colds.length, 1);
    assert.match(s.colds[0]!, /trimmed before it was applied/);
    s.client.groupsByName.delete('web1');
    await s.publish(event('after'));
    while (s.lost() === 0) await new Promise((r) => setImmediate(r));
    await s.stop();
  });
});
