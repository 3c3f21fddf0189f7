/**
 * Scenario 9: fresh hits answered by the front servers themselves (`farmgate front nginx|apache`),
 * each against the same server serving the same docroot as plain static files, side by side in
 * one run, with the stored headers replayed (the docroot's `.h` files hold four headers):
 *
 *   nginx static | nginx front | nginx → farmgate    (nginx worker_processes N)
 *   Apache static | Apache front                     (Apache N child processes, 25 threads each)
 *
 * once with one worker, the servers pinned to cpu 0 and wrk to the last cpu, and once unpinned
 * with two workers. Goal: a front ≥ 0.6× its server's static speed; the shipping bar is ≥ 3× the
 * throughput of nginx → farmgate (issue 12). Each row also gives the server's cpu time per request
 * (farmgate's included for nginx → farmgate) and its ratio to the static server's: on a shared
 * machine, where the others take cpu time too, that ratio moves far less than requests per second.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { startApacheFarmgateFront, startApacheStatic, startNginxFarmgateFront, startNginxProxy } from './fronts.js';
import { descendants, pin, runWrk, startNginxStatic, timedRequest, type WrkResult } from './lib.js';
import type { Row, World } from './scenarios.js';

const PAGE = '/content/site/en/s00/page-0000.html';
const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/**
 * CPU seconds (user + system) used so far by processes and their descendants (Linux /proc).
 * Per request, it measures what a server spends on a hit even when other work shares the cpu,
 * where requests per second only say how much of the cpu it got.
 */
function cpuSeconds(pids: readonly number[]): number {
  const ticks = 100; // CLK_TCK on Linux
  let sum = 0;
  for (const pid of new Set(pids.flatMap((p) => [p, ...descendants(p)]))) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      sum += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* gone */
    }
  }
  return sum / ticks;
}

interface Measured {
  res: WrkResult;
  /** server (and farmgate) CPU microseconds per request */
  cpuUs: number;
}

interface Target {
  name: string;
  server: 'nginx' | 'apache';
  role: 'static' | 'front' | 'proxy';
  port: number;
  /** processes to pin: the server's, and farmgate's when it answers */
  pids: number[];
  stop(): Promise<void>;
}

export async function scenarioFrontHits(w: World): Promise<Row[]> {
  const { o } = w;
  const cores = os.cpus().length;
  const durationS = o.quick ? 1 : 3;
  const rounds = o.quick ? 1 : 2;
  // --quick: the unpinned run only (the quick run proves the plumbing, not the numbers)
  const modes = o.quick || cores < 2 || !o.tools.taskset ? [{ workers: 2, pinned: false }] : [{ workers: 1, pinned: true }, { workers: 2, pinned: false }];
  const fg = w.farmgateA;
  const rows: Row[] = [];
  for (const mode of modes) {
    const { workers, pinned } = mode;
    const targets: Target[] = [];
    const add = async (name: string, server: Target['server'], role: Target['role'], start: () => Promise<{ port: number; proc: { pid: number }; stop(): Promise<void> }>) => {
      const s = await start();
      targets.push({ name, server, role, port: s.port, pids: role === 'proxy' ? [s.proc.pid, fg.proc.pid] : [s.proc.pid], stop: () => s.stop() });
    };
    try {
      await add('nginx static', 'nginx', 'static', () => startNginxStatic(o.tools, w.siteDocroot, workers));
      await add('nginx front (farmgate front nginx)', 'nginx', 'front', () => startNginxFarmgateFront(o.tools, w.configA, fg.port, workers));
      await add('nginx → farmgate', 'nginx', 'proxy', () => startNginxProxy(o.tools, w.configA, fg.port, workers));
      if (o.tools.apache) {
        await add('Apache static', 'apache', 'static', () => startApacheStatic(o.tools, w.configA, w.siteDocroot, workers));
        await add('Apache front (farmgate front apache)', 'apache', 'front', () => startApacheFarmgateFront(o.tools, w.configA, fg.port, workers));
      }
      // Every front answers a fresh page itself, as a HIT with the stored headers.
      for (const t of targets.filter((x) => x.role === 'front')) {
        const r = await timedRequest(false, t.port, PAGE, { host: 'site.local' });
        if (r.status !== 200 || r.headers['x-cache'] !== 'HIT' || r.headers['etag'] !== '"bench-1"') {
          throw new Error(`${t.name}: expected a HIT with the stored ETag, got ${r.status} ${String(r.headers['x-cache'])} ${String(r.headers['etag'])}`);
        }
      }
      // Warm-up: every page once (open-file and route caches), then the random mix (each Apache
      // thread keeps its own Lua state, so its routes warm up by use).
      for (const t of targets) {
        await runWrk(o.tools, { url: `http://127.0.0.1:${t.port}`, connections: 16, durationS: 30, host: 'site.local', pathsFile: w.sitePaths, mode: 'seq', share: 500 });
        await runWrk(o.tools, { url: `http://127.0.0.1:${t.port}`, connections: 64, durationS: t.server === 'apache' ? (o.quick ? 2 : 5) : 1, host: 'site.local', pathsFile: w.sitePaths });
      }
      const best = new Map<string, Measured>();
      for (let r = 0; r < rounds; r++) {
        for (const t of targets) {
          if (pinned) for (const p of t.pids) pin(o.tools, p, '0');
          o.log(`  9: ${t.name}, ${workers} worker(s)${pinned ? ', pinned' : ''} (round ${r + 1}/${rounds})`);
          const cpu0 = cpuSeconds(t.pids);
          const res = await runWrk(o.tools, {
            url: `http://127.0.0.1:${t.port}`,
            connections: 64,
            durationS,
            host: 'site.local',
            pathsFile: w.sitePaths,
            ...(pinned ? { cpus: String(cores - 1) } : {}),
          });
          if (pinned) for (const p of t.pids) pin(o.tools, p, `0-${cores - 1}`);
          const cpuUs = ((cpuSeconds(t.pids) - cpu0) * 1e6) / res.requests;
          if (res.errors > 0 || res.non2xx > 0) throw new Error(`${t.name}: ${res.errors} socket errors, ${res.non2xx} non-2xx`);
          const prev = best.get(t.name);
          if (!prev || res.rps > prev.res.rps) best.set(t.name, { res, cpuUs });
        }
      }
      const setup = pinned ? `1 worker · pinned (server cpu 0, wrk cpu ${cores - 1})` : `${workers} workers · unpinned`;
      const proxy = best.get('nginx → farmgate')!.res;
      for (const t of targets) {
        const { res, cpuUs } = best.get(t.name)!;
        const stat = best.get(t.server === 'nginx' ? 'nginx static' : 'Apache static')!;
        const ratio = res.rps / stat.res.rps;
        const cpuRatio = stat.cpuUs / cpuUs;
        const row: Row = {
          id: '9',
          scenario: 'front hit throughput',
          case: `${t.name} · 1,000-page mix, 4 stored headers · 64 conns · ${setup}`,
          result: `${n0(res.rps)} req/s · p50 ${ms(res.p50Ms)} ms · p99 ${ms(res.p99Ms)} ms · ${cpuUs.toFixed(1)} µs cpu/request`,
          ratio:
            t.role === 'static'
              ? '1.00×'
              : `${ratio.toFixed(2)}× of ${t.server === 'nginx' ? 'nginx' : 'Apache'} static (cpu per request: ${cpuRatio.toFixed(2)}×)`,
          values: { rps: res.rps, p50: res.p50Ms, p99: res.p99Ms, ratio, cpuUs, cpuRatio },
        };
        if (t.role === 'front') {
          row.goal = '≥ 0.6×';
          row.met = ratio >= 0.6;
        }
        rows.push(row);
        if (t.role === 'front') {
          const vsProxy = res.rps / proxy.rps;
          rows.push({
            id: '9',
            scenario: 'front hit throughput',
            case: `${t.name} against nginx → farmgate · ${setup}`,
            result: `${n0(res.rps)} vs ${n0(proxy.rps)} req/s`,
            ratio: `${vsProxy.toFixed(1)}× of nginx → farmgate`,
            goal: '≥ 3×',
            met: vsProxy >= 3,
            values: { ratio: vsProxy },
          });
        }
      }
      if (!o.tools.apache) rows.push({ id: '9', scenario: 'front hit throughput', case: `Apache · ${setup}`, result: 'not measured: apache2 not installed (apt-get install apache2)' });
    } finally {
      for (const t of targets) await t.stop().catch(() => {});
    }
  }
  return rows;
}
