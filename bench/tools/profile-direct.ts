/**
 * Profiling helper (not part of `npm run bench`): farmgate A of the benchmark, hit by wrk
 * directly (and optionally through nginx) for a few seconds; prints req/s. With
 * FARMGATE_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" farmgate writes a CPU profile.
 *   node --import tsx bench/tools/profile-direct.ts [seconds] [random|hot] [direct|front|accel|static|nginx-front|apache-static|apache-front|all] [workers]
 * (front = nginx → farmgate; nginx-front / apache-front = `farmgate front`, fresh hits in the server)
 */
import os from 'node:os';
import { startApacheFarmgateFront, startApacheStatic, startNginxFarmgateFront, startNginxProxy } from '../fronts.js';
import { findTools, runWrk, startNginxStatic } from '../lib.js';
import { buildFarmgate } from '../run.js';
import { World } from '../scenarios.js';

const secs = Number(process.argv[2] ?? 5);
const mix = process.argv[3] ?? 'random';
const which = process.argv[4] ?? 'direct';
const tools = findTools();
const w = new World({ quick: true, tools, cli: process.env.FARMGATE_BENCH_CLI ?? buildFarmgate(() => {}), log: () => {} });
await w.setup();
try {
  const cores = Number(process.argv[5] ?? os.cpus().length);
  const targets: [string, number][] = [];
  if (which === 'static' || which === 'all') targets.push(['static', (await startNginxStatic(tools, w.siteDocroot, cores)).port]);
  if (which === 'direct' || which === 'all') targets.push(['direct', w.farmgateA.port]);
  const cfg = w.configA;
  if (which === 'front' || which === 'all') targets.push(['front', (await startNginxProxy(tools, cfg, w.farmgateA.port, cores)).port]);
  if ((which === 'accel' || which === 'all') && w.accel)
    targets.push(['accel', (await startNginxProxy(tools, cfg, w.farmgateA.port, cores, { prefix: '/_farmgate_docroot', farms: [{ name: 'site', docroot: w.siteDocroot }] })).port]);
  if (which === 'micro' || which === 'all') targets.push(['micro', (await startNginxProxy(tools, cfg, w.farmgateA.port, cores, undefined, 1)).port]);
  if (which === 'nginx-front' || which === 'all') targets.push(['nginx-front', (await startNginxFarmgateFront(tools, cfg, w.farmgateA.port, cores)).port]);
  if (which === 'apache-static' || which === 'all') targets.push(['apache-static', (await startApacheStatic(tools, cfg, w.siteDocroot, cores)).port]);
  if (which === 'apache-front' || which === 'all') targets.push(['apache-front', (await startApacheFarmgateFront(tools, cfg, w.farmgateA.port, cores)).port]);
  const paths = mix === 'hot' ? w.hotPaths : w.sitePaths;
  for (const [name, port] of targets) {
    await runWrk(tools, { url: `http://127.0.0.1:${port}`, connections: 16, durationS: 30, host: 'site.local', pathsFile: w.sitePaths, mode: 'seq', share: 500 });
    await runWrk(tools, { url: `http://127.0.0.1:${port}`, connections: 64, durationS: 1, host: 'site.local', pathsFile: paths });
    const r = await runWrk(tools, { url: `http://127.0.0.1:${port}`, connections: 64, durationS: secs, host: 'site.local', pathsFile: paths });
    console.log(`${name.padEnd(13)} ${mix}: ${Math.round(r.rps)} req/s p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} errors ${r.errors} non2xx ${r.non2xx}`);
  }
} finally {
  for (const s of w.stops) await s().catch(() => {});
  await w.close();
}
process.exit(0);
