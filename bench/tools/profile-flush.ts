/**
 * Profiling helper (not part of `npm run bench`): one farmgate child on a docroot of N cached
 * pages (100 per folder, as in scenario 2), then flushes sent one at a time, then a burst from 32
 * clients; prints the p50/p99 of each. With FARMGATE_BENCH_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=DIR" the farmgate under test writes a CPU profile (summarise it with
 * `node bench/tools/cpuprofile-top.mjs DIR/*.cpuprofile`).
 *   node --import tsx bench/tools/profile-flush.ts [files=100] [sequential=2000] [burst=4000]
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { freePort, percentile, pool, startFarmgate, tempDir, timedRequest, writePages } from '../lib.js';
import { buildFarmgate } from '../run.js';

const files = Number(process.argv[2] ?? 100);
const sequential = Number(process.argv[3] ?? 2000);
const burst = Number(process.argv[4] ?? 4000);
const cli = process.env.FARMGATE_BENCH_CLI ?? buildFarmgate(() => {});
const dir = await tempDir('farmgate-flushprof-');
const docroot = path.join(dir, 'docroot');
const folders = Math.max(1, Math.ceil(files / 100));
const page = (i: number) => `/content/site/s${String(Math.floor(i / 100)).padStart(4, '0')}/p${String(i % 100).padStart(2, '0')}`;
await writePages(docroot, Array.from({ length: files }, (_, i) => ({ path: page(i) + '.html', size: 1024 })), undefined);
const port = await freePort();
const file = path.join(dir, 'farmgate.yaml');
await fs.writeFile(
  file,
  `server:
  listen: "127.0.0.1:${port}"
flush:
  allowedClients: ["127.0.0.1"]
farms:
  - name: site
    virtualhosts: ["site.local"]
    docroot: ${docroot}
    renders: [{ url: "http://127.0.0.1:9" }]
    cache: { statfileslevel: 3 }
    flushRoutes: ["/content/site/**"]
`,
);
/** CPU time (user + system) of a process so far, in ms (/proc/PID/stat, clock ticks of 10 ms). */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const fg = await startFarmgate(cli, file, port, { logFile: path.join(dir, 'farmgate.log'), nodeArgs: (process.env.FARMGATE_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean) });
try {
  // Start-up work on a new docroot (the tag index rebuilt from the sidecars, the temporary-file
  // sweep) walks every file: wait until it is done, or the first flushes share the CPU with it.
  for (let last = cpuMs(fg.proc.pid); ; ) {
    await new Promise((r) => setTimeout(r, 500));
    const now = cpuMs(fg.proc.pid);
    if (now - last < 50) break;
    last = now;
  }
  const flush = (agent: http.Agent, i: number) => {
    const handle = page((process.env.FLUSH_ONE_FOLDER ? 0 : ((i * 37) % folders) * 100) + (i % Math.min(100, files)));
    return timedRequest(agent, port, '/dispatcher/invalidate.cache', { 'cq-action': process.env.FLUSH_ACTION ?? 'Activate', 'cq-handle': handle, 'cq-path': handle });
  };
  const one = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const lat: number[] = [];
  let bad = 0;
  const cpu0 = cpuMs(fg.proc.pid);
  for (let i = 0; i < sequential; i++) {
    const r = await flush(one, i);
    if (r.status !== 200) bad++;
    if (i >= 50) lat.push(r.ms);
  }
  one.destroy();
  console.log(`${files} files, ${sequential} flushes one at a time: p50 ${percentile(lat, 50).toFixed(3)} ms · p90 ${percentile(lat, 90).toFixed(3)} ms · p99 ${percentile(lat, 99).toFixed(3)} ms · ${bad} not 200 · farmgate CPU ${((1000 * (cpuMs(fg.proc.pid) - cpu0)) / Math.max(1, sequential)).toFixed(0)} us per flush`);
  const many = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const cpu1 = cpuMs(fg.proc.pid);
  const t0 = performance.now();
  const results = await pool(burst, 32, (i) => flush(many, i).catch(() => ({ status: 0, ms: NaN, headers: {} })));
  const secs = (performance.now() - t0) / 1000;
  many.destroy();
  const ok = results.filter((r) => r.status === 200).length;
  const blat = results.map((r) => r.ms).filter((v) => !Number.isNaN(v));
  console.log(`burst of ${burst} from 32 clients: ${Math.round(burst / secs)} flushes/s · p50 ${percentile(blat, 50).toFixed(2)} ms · p99 ${percentile(blat, 99).toFixed(2)} ms · ${ok}/${burst} answered 200 · farmgate CPU ${((1000 * (cpuMs(fg.proc.pid) - cpu1)) / Math.max(1, burst)).toFixed(0)} us per flush`);
} finally {
  await fg.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
process.exit(0);
