import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentFlushes } from '../../src/flush/recent.js';
import type { RecentFlush } from '../../src/flush/types.js';

const line = (at: number, handle: string, outcome: RecentFlush['outcome'] = 'applied'): RecentFlush => ({
  time: new Date(at).toISOString(),
  origin: 'web1',
  door: 'http',
  client: '127.0.0.1',
  action: 'Activate',
  scope: undefined,
  handle,
  path: handle,
  farms: outcome === 'applied' ? ['site'] : [],
  touched: 0,
  deleted: 0,
  ms: 0,
  outcome,
  status: outcome === 'refused' ? 403 : 200,
  result: outcome === 'applied' ? 'ok' : 'why',
});

describe('RecentFlushes', () => {
  it('newest first, applied and refused lines merged by time', () => {
    const r = new RecentFlushes();
    r.record(line(1000, '/a'));
    r.notRun({ at: 2000, origin: 'web1', door: 'http', client: '10.0.0.9', handle: '/b', status: 403, reason: 'flush not allowed from 10.0.0.9' });
    r.record(line(3000, '/c', 'test'));
    r.notRun({ at: 4000, origin: 'web1', door: 'webhook', client: 'webhook:cms', action: 'invalidate', status: 200, reason: 'maps to nothing', outcome: 'unrouted' });
    assert.deepEqual(
      r.list().map((l) => [l.handle, l.outcome, l.status]),
      [
        ['', 'unrouted', 200],
        ['/c', 'test', 200],
        ['/b', 'refused', 403],
        ['/a', 'applied', 200],
      ],
    );
    const refused = r.list().find((l) => l.outcome === 'refused')!;
    assert.deepEqual([refused.client, refused.action, refused.path, refused.result], ['10.0.0.9', 'Activate', '/b', 'flush not allowed from 10.0.0.9']);
  });

  it('a flood of refusals never pushes the real flushes out; each ring is bounded', () => {
    const r = new RecentFlushes(3, 2);
    for (let i = 0; i < 5; i++) r.record(line(1000 + i, `/p${i}`));
    for (let i = 0; i < 100; i++) r.notRun({ at: 2000 + i, origin: 'web1', door: 'http', client: '10.0.0.9', status: 403, reason: 'no' });
    assert.deepEqual(
      r.list().map((l) => l.handle || l.outcome),
      ['refused', 'refused', '/p4', '/p3', '/p2'],
    );
  });
});
