/**
 * `npm run bench` / `npm run bench -- --quick`: farmgate against nginx, side by side, in one run
 * (issue 7). Prints a Markdown table and writes it to bench/results/latest.md (quick runs:
 * bench/results/quick.md), with the machine line.
 *
 * Load generator: wrk (apt), not autocannon. wrk is C with an epoll loop per thread, so on a
 * 2-core machine it takes far less CPU per request than a node load generator would, leaving
 * more of the machine to the servers being compared; it is not an npm dependency (nothing to
 * install into the project); its Lua hooks give the 1,000-page random mix, the sequential warm-up
 * and a machine-readable summary (bench/wrk/paths.lua). Flush latencies and the miss storms are
 * measured from node (bench/scenarios.ts), because they need per-request statuses and exact
 * counts, not throughput.
 *
 * farmgate runs as a child process from a fresh compile of src/ into bench/.build (so `npm run
 * bench` measures the tree as it is, without touching dist/), with FARMGATE_LOG_LEVEL=warn;
 * nginx and farmgate listen on free loopback ports and are stopped by PID; every wrk run and
 * child has a time bound. Needs `wrk` and `nginx` from apt: if one is missing the runner says
 * what to install and exits 1.
 *
 * Options: --quick (about a minute, every scenario, fewer and shorter runs), --only 1,4 (some
 * scenarios), --no-build (use dist/ as built by `npm run build`), --out FILE (the Markdown),
 * --json FILE (the rows with their values, for test/bench/quick.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { scenarioFrontHits } from './front-hits.js';
import { findTools, repoRoot, versions } from './lib.js';
import { scenarioTags } from './tags.js';
import {
  scenarioFlushBurst,
  scenarioFlushCost,
  scenarioHits,
  scenarioMissStorm,
  scenarioPropagation,
  scenarioRootFlush,
  World,
  type Row,
} from './scenarios.js';

export interface BenchReport {
  rows: Row[];
  machine: string;
  markdown: string;
  seconds: number;
}

export function buildFarmgate(log: (m: string) => void): string {
  const out = path.join(repoRoot, 'bench', '.build');
  log(`compiling src/ into bench/.build`);
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, '.gitignore'), '*\n');
  try {
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', out, '--sourceMap', 'false'], {
      cwd: repoRoot,
      stdio: 'pipe',
      timeout: 120_000,
    });
  } catch (err) {
    // tsc emits even with type errors (someone else's work in progress); run what it emitted.
    const e = err as { stdout?: Buffer };
    if (!existsSync(path.join(out, 'cli/index.js'))) throw new Error(`tsc failed:\n${String(e.stdout ?? err)}`);
    log(`  tsc reported errors (emitted anyway): ${String(e.stdout ?? '').split('\n')[0]}`);
  }
  return path.join(out, 'cli/index.js');
}

function machineLine(tools: ReturnType<typeof findTools>): string {
  const v = versions(tools);
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'cpu'}), ${Math.round(os.totalmem() / 1024 ** 3)} GB RAM, ${os.type()} ${os.release()}, node ${process.version}, ${v.nginx}, ${v.wrk}, load average at start ${os.loadavg()[0]!.toFixed(2)}`;
}

export function toMarkdown(rows: Row[]): string {
  const esc = (s: string | undefined) => (s ?? '').replace(/\|/g, '\\|');
  const lines = ['| # | scenario | case | result | ratio | goal | met |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
    lines.push(`| ${r.id} | ${esc(r.scenario)} | ${esc(r.case)} | ${esc(r.result)} | ${esc(r.ratio)} | ${esc(r.goal)} | ${met} |`);
  }
  return lines.join('\n');
}

export async function runBench(opts: { quick: boolean; only?: Set<string>; build?: boolean; log?: (m: string) => void }): Promise<BenchReport> {
  const started = Date.now();
  const log = opts.log ?? ((m: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${m}\n`));
  const tools = findTools();
  const machine = machineLine(tools);
  // FARMGATE_BENCH_CLI: another build to measure (an older tree, for a before/after in one sitting).
  const cli = process.env.FARMGATE_BENCH_CLI ?? (opts.build === false ? path.join(repoRoot, 'dist/cli/index.js') : buildFarmgate(log));
  const w = new World({ quick: opts.quick, tools, cli, log, ...(opts.only ? { only: opts.only } : {}) });
  const want = (id: string) => !opts.only || opts.only.has(id);
  const rows: Row[] = [];
  let hardDeadline: NodeJS.Timeout | undefined;
  try {
    // Every run is bounded: a wedged scenario cannot hold the machine.
    hardDeadline = setTimeout(() => {
      process.stderr.write('bench: time limit reached, stopping\n');
      void w.close().finally(() => process.exit(2));
    }, (opts.quick ? 5 : 30) * 60_000);
    hardDeadline.unref();
    log(`setting up (docroots, render, farmgate)`);
    await w.setup();
    const steps: [string[], string, () => Promise<Row[]>][] = [
      [['1', '7'], 'hit throughput', () => scenarioHits(w)],
      [['3'], 'flush burst', () => scenarioFlushBurst(w)],
      [['4'], 'miss storm', () => scenarioMissStorm(w)],
      [['5'], 'after a root flush', () => scenarioRootFlush(w)],
      [['2', '7'], 'flush cost vs cache size', () => scenarioFlushCost(w)],
      [['6'], 'propagation', () => scenarioPropagation(w)],
      [['8'], 'tags', () => scenarioTags({ quick: opts.quick, log })],
      [['9'], 'fronts: hits answered by nginx and Apache', () => scenarioFrontHits(w)],
    ];
    for (const [ids, name, fn] of steps) {
      if (!ids.some(want)) continue;
      log(`scenario ${ids.join('+')}: ${name}`);
      rows.push(...(await fn()));
    }
  } finally {
    clearTimeout(hardDeadline);
    await w.close();
  }
  rows.sort((a, b) => Number(a.id) - Number(b.id));
  const seconds = (Date.now() - started) / 1000;
  const markdown = `${toMarkdown(rows)}\n\nMachine: ${machine}. Mode: ${opts.quick ? 'quick' : 'full'} (${seconds.toFixed(0)} s).\n`;
  return { rows, machine, markdown, seconds };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyArg = args[args.indexOf('--only') + 1];
  const only = args.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : undefined;
  const outArg = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
  const jsonArg = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
  let report: BenchReport;
  try {
    report = await runBench({ quick, build: !args.includes('--no-build'), ...(only ? { only } : {}) });
  } catch (err) {
    process.stderr.write(`bench failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`\n${report.markdown}`);
  const out = outArg ?? path.join(repoRoot, 'bench', 'results', quick ? 'quick.md' : only ? 'partial.md' : 'latest.md');
  await fs.mkdir(path.dirname(out), { recursive: true });
  await fs.writeFile(out, `# farmgate benchmark (${new Date().toISOString()})\n\nCommand: \`npm run bench${quick ? ' -- --quick' : ''}\`\n\n${report.markdown}`);
  if (jsonArg) await fs.writeFile(jsonArg, JSON.stringify({ machine: report.machine, seconds: report.seconds, rows: report.rows }, null, 2));
  process.stderr.write(`written to ${path.relative(process.cwd(), out)}\n`);
  process.exit(0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  void main();
}
