/**
 * The publisher on the fake stream client: straight to the stream while joined, into the fsync'd
 * outbox otherwise, drained in order when the stream is back, recent events re-sent after the
 * stream was lost. No Redis, no sleeps.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { encodeEvent } from '../../src/propagation/event.js';
import { Outbox } from '../../src/propagation/outbox.js';
import { Publisher } from '../../src/propagation/publisher.js';
import { testClock } from '../helpers/clock.js';
import { tempDir } from '../helpers/farmgate.js';
import { FakeStreamClient } from '../fakes/stream-client.js';

const SECRET = 'publisher-test-secret-0123456789';
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

const entry = (id: string) =>
  encodeEvent({ id, origin: 'web1', ts: 1, action: 'Activate', scope: null, handle: `/content/${id}`, path: `/content/${id}`, refetch: [] }, SECRET);

async function setup() {
  const dir = await tempDir('farmgate-pub-');
  dirs.push(dir);
  const clock = testClock('manual');
  const client = new FakeStreamClient(clock.now);
  await client.connect();
  const outbox = await Outbox.open(dir);
  let joined = true;
  const depths: number[] = [];
  let published = 0;
  const publisher = new Publisher({
    client,
    outbox,
    log: silentLogger,
    retentionMs: 60_000,
    replayWindowMs: 10_000,
    now: clock.now,
    canSend: () => joined,
    onPublished: () => void published++,
    onOutboxDepth: (d) => void depths.push(d),
  });
  const handles = () => client.entries.map((e) => (JSON.parse(e.fields.payload!) as { handle: string }).handle);
  return { dir, clock, client, outbox, publisher, depths, handles, published: () => published, setJoined: (v: boolean) => void (joined = v) };
}

describe('Publisher', () => {
  it('joined with an empty outbox: straight to the stream', async () => {
    const s = await setup();
    await s.publisher.publish(entry('a'));
    await s.publisher.publish(entry('b'));
    assert.deepEqual(s.handles(), ['/content/a', '/content/b']);
    assert.equal(s.published(), 2);
    assert.equal(s.outbox.depth, 0);
  });

  it('not joined: into the outbox (on disk before publish resolves); drained in order once joined', async () => {
    const s = await setup();
    s.setJoined(false);
    await s.publisher.publish(entry('a'));
    await s.publisher.publish(entry('b'));
    assert.equal(s.outbox.depth, 2);
    assert.equal((await fs.readFile(s.outbox.file, 'utf8')).trim().split('\n').length, 2, 'fsync\'d before the 200');
    s.setJoined(true);
    s.publisher.kick();
    await s.publisher.publish(entry('c'));
    await s.publisher.settle();
    assert.deepEqual(s.handles(), ['/content/a', '/content/b', '/content/c'], 'no event overtakes an older one');
    assert.equal(s.outbox.depth, 0);
    assert.equal(s.depths.at(-1), 0);
  });

  it('Redis failing mid-publish: the event goes to the outbox, sent when Redis takes it again', async () => {
    const s = await setup();
    s.client.failing = new Error('Connection is closed.');
    await s.publisher.publish(entry('a'));
    await s.publisher.settle();
    assert.deepEqual([s.handles(), s.outbox.depth], [[], 1], 'the drain started at once paused: Redis still refuses');
    s.client.failing = undefined;
    s.publisher.kick(); // the next join or heartbeat
    await s.publisher.settle();
    assert.deepEqual([s.handles(), s.outbox.depth], [['/content/a'], 0]);
  });

  it('replay() re-sends the events of the last replayWindowMs, in order, after the stream was lost', async () => {
    const s = await setup();
    await s.publisher.publish(entry('old'));
    s.clock.advance(20_000);
    await s.publisher.publish(entry('x'));
    await s.publisher.publish(entry('y'));
    s.client.entries = [];
    assert.equal(await s.publisher.replay(), 2);
    assert.deepEqual(s.handles(), ['/content/x', '/content/y']);
  });
});
