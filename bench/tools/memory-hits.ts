/**
 * Measuring helper (not part of `npm run bench`): farmgate A of the benchmark (1,000 pages, default
 * settings) under scenario 1's direct hit loads (the 1,000-page mix and one hot page, 64 and 256
 * connections), then its peak (VmHWM) and current RSS. FARMGATE_BENCH_NODE_ARGS passes node flags
 * to the farmgate under test (e.g. "--max-semi-space-size=4", "--trace-gc").
 *   node --import tsx bench/tools/memory-hits.ts [seconds per load=3]
 */
import { findTools, rss, runWrk } from '../lib.js';
import { buildFarmgate } from '../run.js';
import { World } from '../scenarios.js';

const secs = Number(process.argv[2] ?? 3);
const tools = findTools();
const w = new World({ quick: true, tools, cli: process.env.FARMGATE_BENCH_CLI ?? buildFarmgate(() => {}), log: () => {} });
await w.setup();
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
try {
  const pid = w.farmgateA.proc.pid;
  console.log(`idle: ${mb(rss(pid).now)}`);
  const url = w.farmgateA.url;
  await runWrk(tools, { url, connections: 16, durationS: 30, host: 'site.local', pathsFile: w.sitePaths, mode: 'seq', share: 500 });
  console.log(`after the warm-up: peak ${mb(rss(pid).peak)}, now ${mb(rss(pid).now)}`);
  for (const [mix, paths] of [['mix', w.sitePaths], ['hot', w.hotPaths]] as const) {
    for (const connections of [64, 256]) {
      const r = await runWrk(tools, { url, connections, durationS: secs, host: 'site.local', pathsFile: paths });
      const m = rss(pid);
      console.log(`${mix} ${connections} conns: ${Math.round(r.rps)} req/s · peak ${mb(m.peak)}, now ${mb(m.now)}`);
    }
  }
  if ((process.env.FARMGATE_BENCH_NODE_ARGS ?? '').includes('--trace-gc')) {
    const { readFileSync } = await import('node:fs');
    console.log(readFileSync(w.logFile, 'utf8').split('\n').filter((l) => /Scavenge|Mark-Compact/.test(l)).slice(-4).join('\n'));
  }
} finally {
  for (const s of w.stops) await s().catch(() => {});
  await w.close();
}
process.exit(0);
