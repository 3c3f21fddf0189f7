/**
 * Web farm propagation end to end (contract section 5, issue 5 "Done means"): three farmgate
 * servers with separate docroots and state dirs, in-process, on one real redis-server on a
 * free loopback port. Each test uses its own stream, so no state leaks between tests. Every
 * wait is bounded; the redis-server is stopped by PID in after().
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { encodeEvent } from '../../src/propagation/event.js';
import { httpRequest } from '../helpers/farmgate.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { adminJson, appliedHandles, farmServer, flush, mtimeMs, SECRET, waitFor, type FarmServer } from '../../support/web-farm.js';

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

async function threeServers(): Promise<[FarmServer, FarmServer, FarmServer]> {
  const stream = `farmgate:test:${process.pid}:${++streamNo}`;
  const servers = await Promise.all(['web-a', 'web-b', 'web-c'].map((n) => farmServer(n, redis.url, { stream })));
  farm = servers;
  return servers as [FarmServer, FarmServer, FarmServer];
}

const statOf = (s: FarmServer, dir: string, site = 'site-a') => path.join(s.docroot(site), dir, '.stat');

describe('propagation over Redis Streams', () => {
  it('a flush to A touches the .stat files on B and C within 1 s; A applies it once', async () => {
    const [a, b, c] = await threeServers();
    const sent = Date.now();
    assert.equal(await flush(a, '/content/site-a/en/page'), 200);
    for (const s of [b, c]) {
      await waitFor(`.stat on ${s.name}`, async () => (await mtimeMs(statOf(s, 'content/site-a/en'))) !== undefined, 1000);
      assert.ok((await mtimeMs(statOf(s, 'content/site-a/en')))! >= sent - 1000);
      assert.ok((await mtimeMs(statOf(s, '')))! >= sent - 1000, 'root .stat touched too');
      assert.equal(await mtimeMs(statOf(s, 'content/site-b', 'site-b')), undefined, 'routed by flushRoutes: site-b untouched');
    }
    assert.deepEqual(appliedHandles(b), ['/content/site-a/en/page']);
    // A's own event comes back on the stream and is skipped: applied once, published once.
    await waitFor('A skipped its own event', () => a.app.propagation!.status().applied === 0 && a.app.propagation!.status().published === 1);
    assert.deepEqual(appliedHandles(a), []);
    const servers = await adminJson(a, '/admin/api/servers');
    assert.equal(servers.status, 200);
    assert.deepEqual(servers.body.servers.map((s: { name: string }) => s.name), ['web-a', 'web-b', 'web-c']);
    assert.ok(servers.body.servers.every((s: { responding: boolean }) => s.responding));
  });

  it('B stopped, 20 flushes to A, B restarted: all 20 applied on B, in order', async () => {
    const [a, b, c] = await threeServers();
    await b.stop();
    const handles = Array.from({ length: 20 }, (_, i) => `/content/site-a/page-${i}`);
    for (const h of handles) assert.equal(await flush(a, h), 200);
    await waitFor('C caught up', () => appliedHandles(c).length === 20);
    // B is down, and visibly behind.
    const view = await adminJson(a, '/admin/api/servers');
    const bView = view.body.servers.find((s: { name: string }) => s.name === 'web-b');
    assert.equal(bView.lag, 20);
    await b.start();
    await waitFor('B caught up', () => appliedHandles(b).length === 20);
    assert.deepEqual(appliedHandles(b), handles);
    assert.deepEqual(appliedHandles(c), handles);
    assert.equal(b.app.propagation!.status().coldFlushes.length, 0, 'nothing was trimmed: no cold flush');
    for (const h of handles) assert.ok(await mtimeMs(statOf(b, h.slice(1))), `${h}/.stat on B`);
  });

  it('B whose next events were trimmed away cold-flushes: root .stat of every farm, warn, admin API', async () => {
    const [a, b] = await threeServers();
    await b.stop();
    for (let i = 0; i < 3; i++) assert.equal(await flush(a, `/content/site-a/old-${i}`), 200);
    // Retention trims the three events B never read (MINID past the newest of them).
    const stream = a.config.propagation.redis.stream;
    const last = (await redis.command('XREVRANGE', stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
    const [ms, seq] = last[0]![0].split('-').map(Number);
    assert.equal(await redis.command('XTRIM', stream, 'MINID', `${ms}-${seq! + 1}`), 3);
    assert.equal(await flush(a, '/content/site-b/new'), 200);
    const before = Date.now();
    await b.start();
    const status = b.app.propagation!.status();
    assert.equal(status.coldFlushes.length, 1);
    assert.match(status.coldFlushes[0]!.reason, /3 event\(s\).*trimmed/);
    for (const site of ['site-a', 'site-b']) assert.ok((await mtimeMs(statOf(b, '', site)))! >= before - 1000, `root .stat of ${site}`);
    await waitFor('B applied the event still in the stream', () => appliedHandles(b).length === 1);
    assert.deepEqual(appliedHandles(b), ['/content/site-b/new']);
    assert.equal(await mtimeMs(statOf(b, 'content/site-a/old-0')), undefined, 'trimmed events are gone, not applied');
    const own = await adminJson(b, '/admin/api/propagation');
    assert.equal(own.body.coldFlushes.length, 1);
    await waitFor('registry shows the cold flush', async () => {
      const v = await adminJson(a, '/admin/api/servers');
      return v.body.servers.find((s: { name: string }) => s.name === 'web-b').coldFlushes === 1;
    });
  });

  it('Redis killed (SIGKILL) during a burst and restarted: every flush answered 200 and reaches every server once', async () => {
    const [a, b, c] = await threeServers();
    const handles = Array.from({ length: 40 }, (_, i) => `/content/site-a/burst-${i}`);
    const statuses: number[] = [];
    let sawNotReady = false;
    for (let i = 0; i < handles.length; i++) {
      if (i === 10) await redis.kill();
      if (i === 25) {
        const ready = await httpRequest(a.adminUrl + '/readyz');
        await ready.text();
        sawNotReady = ready.status === 503;
        assert.ok(a.app.propagation!.status().outboxDepth > 0, 'flushes wait in the outbox');
        await redis.restart();
      }
      statuses.push(await flush(a, handles[i]!));
    }
    assert.deepEqual(statuses, handles.map(() => 200));
    assert.ok(sawNotReady, '/readyz answered 503 while Redis was down');
    for (const s of [b, c]) {
      await waitFor(`${s.name} got every flush`, () => new Set(appliedHandles(s)).size === handles.length, 10_000);
      const applied = appliedHandles(s);
      assert.equal(applied.length, handles.length, `${s.name}: none applied twice`);
      assert.deepEqual([...applied].sort(), [...handles].sort());
      // Each origin's order is kept: the outbox drains in order.
      assert.deepEqual(applied, handles);
    }
    await waitFor('A outbox empty and ready', () => a.app.propagation!.status().outboxDepth === 0 && a.app.propagation!.ready());
    const ready = await httpRequest(a.adminUrl + '/readyz');
    await ready.text();
    assert.equal(ready.status, 200);
  });

  it('a tampered or forged event is rejected, logged and counted; nothing applied', async () => {
    const [a, b] = await threeServers();
    const stream = a.config.propagation.redis.stream;
    const good = encodeEvent(
      { id: 'forged-1', origin: 'web-a', ts: Date.now(), action: 'Activate', scope: null, handle: '/content/site-a/evil', path: '/content/site-a/evil', refetch: [] },
      SECRET,
    );
    const tampered = good.payload.replace('/content/site-a/evil', '/content/site-a/other');
    await redis.command('XADD', stream, '*', 'v', '1', 'payload', tampered, 'sig', good.sig);
    const wrongKey = encodeEvent({ ...JSON.parse(good.payload), id: 'forged-2' }, 'not-the-secret-at-all!');
    await redis.command('XADD', stream, '*', 'v', wrongKey.v, 'payload', wrongKey.payload, 'sig', wrongKey.sig);
    assert.equal(await flush(a, '/content/site-a/after'), 200);
    await waitFor('B applied the genuine flush', () => appliedHandles(b).length === 1);
    assert.deepEqual(appliedHandles(b), ['/content/site-a/after']);
    assert.equal(b.app.propagation!.status().rejected, 2);
    assert.equal(await mtimeMs(statOf(b, 'content/site-a/evil')), undefined);
    assert.equal(await mtimeMs(statOf(b, 'content/site-a/other')), undefined);
    const metrics = await (await httpRequest(b.adminUrl + '/metrics')).text();
    assert.match(metrics, /farmgate_propagation_rejected_total\{reason="signature"\} 2/);
  });

  it('hold: events recorded, not applied, lag grows; release: applied in order (own admin API and relayed)', async () => {
    const [a, b, c] = await threeServers();
    assert.equal((await adminJson(b, '/admin/api/hold', 'POST')).status, 200);
    const relayed = await adminJson(a, '/admin/api/servers/web-c/hold', 'POST');
    assert.equal(relayed.status, 202);
    await waitFor('C held through Redis', () => c.app.propagation!.status().held, 3000);
    const handles = Array.from({ length: 5 }, (_, i) => `/content/site-a/held-${i}`);
    for (const h of handles) assert.equal(await flush(a, h), 200);
    await waitFor('lag of B and C is 5', async () => {
      const v = (await adminJson(a, '/admin/api/servers')).body.servers as { name: string; lag: number; held: boolean }[];
      return v.filter((s) => s.name !== 'web-a').every((s) => s.lag === 5 && s.held);
    });
    await waitFor('lag gauge exported', async () => {
      const m = await (await httpRequest(a.adminUrl + '/metrics')).text();
      return /farmgate_propagation_lag_events\{server="web-b"\} 5/.test(m);
    });
    assert.deepEqual(appliedHandles(b), []);
    assert.deepEqual(appliedHandles(c), []);
    assert.equal(await mtimeMs(statOf(b, 'content/site-a/held-0')), undefined);
    assert.equal((await adminJson(b, '/admin/api/release', 'POST')).status, 200);
    assert.equal((await adminJson(a, '/admin/api/servers/web-c/release', 'POST')).status, 202);
    await waitFor('B applied what it held', () => appliedHandles(b).length === 5);
    await waitFor('C applied what it held', () => appliedHandles(c).length === 5, 3000);
    assert.deepEqual(appliedHandles(b), handles);
    assert.deepEqual(appliedHandles(c), handles);
  });

  it('an event that fails to apply is retried, recorded as failed, and does not block the next', async () => {
    const [a, b] = await threeServers();
    // Poison on B only: its site-a docroot becomes a file (tests run as root; chmod would not stop us).
    await fs.rm(b.docroot('site-a'), { recursive: true, force: true });
    await fs.writeFile(b.docroot('site-a'), 'not a folder');
    assert.equal(await flush(a, '/content/site-a/poison'), 200);
    assert.equal(await flush(a, '/content/site-b/next'), 200);
    await waitFor('B applied the next event', () => appliedHandles(b).includes('/content/site-b/next'));
    const status = b.app.propagation!.status();
    assert.equal(status.failed, 1);
    assert.equal(status.failedEvents[0]!.handle, '/content/site-a/poison');
    assert.equal(status.failedEvents[0]!.attempts, 3);
    assert.match(status.failedEvents[0]!.error!, /not a folder/);
    assert.ok(await mtimeMs(statOf(b, 'content/site-b/next', 'site-b')));
    const metrics = await (await httpRequest(b.adminUrl + '/metrics')).text();
    assert.match(metrics, /farmgate_propagation_failed_total 1/);
    await waitFor('registry shows the failure', async () => {
      const v = await adminJson(a, '/admin/api/servers');
      return v.body.servers.find((s: { name: string }) => s.name === 'web-b').failedEvents === 1;
    });
  });
});
