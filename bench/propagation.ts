/**
 * Propagation latency on loopback: one redis-server and three farmgate servers (in this
 * process, each with its own docroots and state dir), 1,000 flushes sent one at a time to
 * server A (the next once B and C applied the last); for each, the time from sending it to A
 * until B and until C applied it (their consumer history stamps the moment the flush was done). Prints p50/p99 per peer and for
 * "every peer" (the later of the two). Bounded: gives up after 120 s.
 *
 *   node --import tsx bench/propagation.ts [--flushes 1000]
 */
import { startRedis } from '../support/redis.js';
import { farmServer, flush, type FarmServer } from '../support/web-farm.js';

const args = process.argv.slice(2);
const n = Number(args[args.indexOf('--flushes') + 1] ?? 1000) || 1000;
const DEADLINE = Date.now() + 120_000;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const redis = await startRedis();
const servers: FarmServer[] = [];
try {
  const stream = `farmgate:bench:${process.pid}`;
  // Production timings (heartbeat 1 s, BLOCK 1 s): the read loop wakes on XADD, not on a timer.
  const tuning = { joinTimeoutMs: 5000 };
  for (const name of ['bench-a', 'bench-b', 'bench-c']) servers.push(await farmServer(name, redis.url, { stream, tuning }));
  const [a, b, c] = servers as [FarmServer, FarmServer, FarmServer];
  const sentAt = new Map<string, number>();
  const appliedCount = (s: FarmServer) => s.app.propagation!.status().applied;
  for (let i = 0; i < n; i++) {
    if (Date.now() > DEADLINE) throw new Error(`gave up after 120 s at flush ${i}`);
    const handle = `/content/site-a/bench/p${i}`;
    sentAt.set(handle, Date.now());
    const status = await flush(a, handle);
    if (status !== 200) throw new Error(`flush ${i} answered ${status}`);
    // One flush in flight at a time: all servers share this process's event loop, so
    // overlapping flushes would measure the loop's queue, not propagation.
    while ((appliedCount(b) <= i || appliedCount(c) <= i) && Date.now() < DEADLINE) await new Promise((r) => setTimeout(r, 1));
  }
  const appliedAt = (s: FarmServer) => new Map(s.app.propagation!.history().filter((h) => h.result === 'applied').map((h) => [h.handle!, h.at]));
  while ((appliedAt(b).size < n || appliedAt(c).size < n) && Date.now() < DEADLINE) await new Promise((r) => setTimeout(r, 50));
  const atB = appliedAt(b);
  const atC = appliedAt(c);
  if (atB.size < n || atC.size < n) throw new Error(`not every flush arrived: B ${atB.size}, C ${atC.size} of ${n}`);
  const lat = { b: [] as number[], c: [] as number[], all: [] as number[] };
  for (const [handle, t0] of sentAt) {
    const lb = atB.get(handle)! - t0;
    const lc = atC.get(handle)! - t0;
    lat.b.push(lb);
    lat.c.push(lc);
    lat.all.push(Math.max(lb, lc));
  }
  for (const list of Object.values(lat)) list.sort((x, y) => x - y);
  console.log(`propagation latency, ${n} flushes to A, loopback, redis-server ${redis.port} (ms, from sending the flush to applied):`);
  console.log(`  to B:          p50 ${pct(lat.b, 50)}  p99 ${pct(lat.b, 99)}  max ${lat.b.at(-1)}`);
  console.log(`  to C:          p50 ${pct(lat.c, 50)}  p99 ${pct(lat.c, 99)}  max ${lat.c.at(-1)}`);
  console.log(`  to every peer: p50 ${pct(lat.all, 50)}  p99 ${pct(lat.all, 99)}  max ${lat.all.at(-1)}  (goal: p99 < 50)`);
} finally {
  for (const s of servers) await s.destroy();
  await redis.stop();
}
