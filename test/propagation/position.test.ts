/** Position, lag, trim detection, join decisions, registry views, backoff: pure decisions with plain values. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffSchedule } from '../../src/propagation/apply-remote.js';
import { compareIds, joinDecision, lagEvents, trimmedUnread } from '../../src/propagation/position.js';
import { isResponding, serverViews, type HeartbeatRecord } from '../../src/propagation/registry.js';

describe('lag and trim detection', () => {
  it('lag is undelivered plus pending', () => {
    assert.equal(lagEvents({ lag: 5, pending: 2 }), 7);
    assert.equal(lagEvents({ lag: null, pending: 1 }, 3), 4);
  });

  it('compares stream ids numerically', () => {
    assert.equal(compareIds('9-0', '10-0'), -1);
    assert.equal(compareIds('10-2', '10-10'), -1);
    assert.equal(compareIds('10-0', '10-0'), 0);
    assert.equal(compareIds('11-0', '10-99'), 1);
  });

  it('counts trimmed events only when the position fell before the first entry', () => {
    const table: [Parameters<typeof trimmedUnread>[0], number][] = [
      [{ lag: 3, position: '5-0', firstId: '5-0', length: 4 }, 0], // position still there
      [{ lag: 3, position: '6-0', firstId: '5-0', length: 4 }, 0],
      [{ lag: 4, position: '2-0', firstId: '10-0', length: 1 }, 3], // three gone
      [{ lag: 1, position: '2-0', firstId: '10-0', length: 1 }, 0], // only its own entry was trimmed
      [{ lag: 3, position: '2-0', firstId: undefined, length: 0 }, 3], // everything trimmed
      [{ lag: null, position: '2-0', firstId: '10-0', length: 1 }, 1], // cannot tell: assume lost
      [{ lag: null, position: '0-0', firstId: undefined, length: 0 }, 0],
    ];
    for (const [input, want] of table) assert.equal(trimmedUnread(input), want, JSON.stringify(input));
  });
});

describe('joinDecision', () => {
  const base = { epoch: 'E2', groupExists: true, lastReadAt: undefined, now: 100_000, replayWindowMs: 60_000 };
  it('first join starts at the head without a cold flush', () => {
    assert.deepEqual(joinDecision({ ...base, knownEpoch: undefined, groupExists: false }), { startAt: '$', coldFlush: undefined });
  });
  it('same epoch resumes; a vanished group cold-flushes', () => {
    assert.equal(joinDecision({ ...base, knownEpoch: 'E2' }).coldFlush, undefined);
    assert.match(joinDecision({ ...base, knownEpoch: 'E2', groupExists: false }).coldFlush!, /group is gone/);
  });
  it('a new epoch reads the new stream from its start; cold flush unless we read the old one moments ago', () => {
    const recent = joinDecision({ ...base, knownEpoch: 'E1', groupExists: false, lastReadAt: 95_000 });
    assert.deepEqual(recent, { startAt: '0', coldFlush: undefined });
    assert.match(joinDecision({ ...base, knownEpoch: 'E1', lastReadAt: 10_000 }).coldFlush!, /stream was lost/);
    assert.match(joinDecision({ ...base, knownEpoch: 'E1', lastReadAt: undefined }).coldFlush!, /stream was lost/);
  });
});

describe('registry', () => {
  it('not responding after 3 missed heartbeats', () => {
    assert.equal(isResponding(1000, 1000, 4000), true);
    assert.equal(isResponding(1000, 1000, 4001), false);
    assert.equal(isResponding(undefined, 1000, 0), false);
  });

  it('merges heartbeats and consumer groups, sorted by name', () => {
    const rec = (name: string, heartbeatAt: number): HeartbeatRecord => ({
      v: 1, name, instance: 'x', heartbeatAt, heartbeatMs: 1000, held: name === 'b', coldFlushes: 0, lastColdFlush: null, failedEvents: 0, rejectedEvents: 0, outboxDepth: 0,
    });
    const views = serverViews([rec('b', 9000), rec('a', 1000)], [
      { name: 'a', pending: 0, lastDeliveredId: '1-0', lag: 0 },
      { name: 'b', pending: 2, lastDeliveredId: '1-0', lag: 3 },
      { name: 'gone', pending: 0, lastDeliveredId: '1-0', lag: 7 },
    ], 'a', 10_000);
    assert.deepEqual(views.map((v) => [v.name, v.responding, v.lag, v.held, v.self]), [
      ['a', false, 0, false, true],
      ['b', true, 5, true, false],
      ['gone', false, 7, false, false],
    ]);
  });
});

describe('backoff schedule', () => {
  it('grows by the factor up to the cap', () => {
    assert.deepEqual(backoffSchedule(3, 100, 4, 1500), [100, 400, 1500]);
    assert.deepEqual(backoffSchedule(5, 50, 2, 300), [50, 100, 200, 300, 300]);
    assert.deepEqual(backoffSchedule(0, 100, 2, 1000), []);
  });
});
