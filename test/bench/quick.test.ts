// `npm run bench -- --quick` end to end, so the benchmark cannot rot: every scenario row is
// produced and its values are sane. Goals are not asserted here (shared 2-core machines are
// noisy); correctness outcomes that do not depend on speed are (miss collapsing, no lost flush).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { hasBinary } from '../../support/front-servers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Row {
  id: string;
  scenario: string;
  case: string;
  result: string;
  ratio?: string;
  met?: boolean;
  values?: Record<string, number>;
}

describe('npm run bench -- --quick', { timeout: 300_000 }, () => {
  let dir: string;
  let rows: Row[] = [];
  let markdown = '';
  let stdout = '';
  let code: number | null = null;

  before(async () => {
    assert.ok(hasBinary('wrk') && hasBinary('nginx'), 'the benchmark needs wrk and nginx: apt-get install -y wrk nginx');
    dir = await mkdtemp(path.join(os.tmpdir(), 'farmgate-bench-test-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', path.join(dir, 'quick.md'), '--json', path.join(dir, 'quick.json')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 260_000);
    code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    assert.equal(code, 0, `bench exited ${String(code)}:\n${stderr.slice(-3000)}`);
    markdown = await readFile(path.join(dir, 'quick.md'), 'utf8');
    rows = (JSON.parse(await readFile(path.join(dir, 'quick.json'), 'utf8')) as { rows: Row[] }).rows;
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints the Markdown table with the machine line, on stdout and in the file', () => {
    assert.match(stdout, /^\| # \| scenario \| case \| result \| ratio \| goal \| met \|$/m);
    assert.match(stdout, /Machine: \d+ cores .* node v\d+.*nginx\/[\d.]+/);
    assert.ok(markdown.includes(stdout.trim().split('\n').find((l) => l.startsWith('| 1 |'))!));
  });

  it('has a row for every scenario, 1 to 9', () => {
    for (const id of ['1', '2', '3', '4', '5', '6', '7', '8', '9']) assert.ok(rows.some((r) => r.id === id), `no row for scenario ${id}`);
    for (const r of rows) assert.ok(r.result.length > 0, `empty result in ${r.id} ${r.case}`);
  });

  it('scenario 1: nginx static, farmgate direct and nginx → farmgate, both mixes, with ratios', () => {
    const s1 = rows.filter((r) => r.id === '1' && r.values?.rps !== undefined);
    for (const target of ['nginx static', 'farmgate direct', 'nginx → farmgate']) {
      for (const mix of ['1,000-page mix', 'one hot page']) {
        const row = s1.find((r) => r.case.startsWith(`${target} · ${mix}`));
        assert.ok(row, `no row for ${target} · ${mix}`);
        const v = row.values as { rps: number; p50: number; p99: number; ratio: number };
        assert.ok(v.rps > 100, `${target} · ${mix}: ${v.rps} req/s`);
        assert.ok(v.p50 > 0 && v.p99 >= v.p50);
        assert.ok(v.ratio > 0 && v.ratio < 5, `ratio ${v.ratio}`);
      }
    }
  });

  it('scenario 2: flush latency for both cache sizes and a ratio', () => {
    const s2 = rows.filter((r) => r.id === '2');
    assert.equal(s2.length, 2);
    assert.ok(s2.every((r) => r.values!.p50! > 0));
    assert.equal(s2[1]!.values!.bad, 0, 'every flush answered 200');
    assert.ok(s2[1]!.values!.ratio50! > 0);
  });

  it('scenario 3: no flush lost in the burst', () => {
    const burst = rows.find((r) => r.id === '3' && r.values?.total !== undefined)!;
    assert.equal(burst.values!.ok, burst.values!.total);
    assert.ok(burst.values!.flushesPerS! > 0);
  });

  it('scenario 4: one render request for 1,000 concurrent misses of one page; 1,000 for 1,000 pages', () => {
    const [one, many] = rows.filter((r) => r.id === '4');
    assert.equal(one!.values!.renders, 1);
    assert.equal(one!.values!.ok, 1000);
    assert.equal(many!.values!.renders, 1000);
    assert.equal(many!.values!.duplicates, 0);
  });

  it('scenario 5: a root flush re-renders at most every page once', () => {
    const r = rows.find((x) => x.id === '5')!;
    assert.ok(r.values!.renders! > 0 && r.values!.renders! <= 1000, `${r.values!.renders} renders`);
  });

  it('scenario 6: propagation measured or skipped with a reason', () => {
    const r = rows.find((x) => x.id === '6')!;
    assert.ok(r.result.startsWith('skipped: ') || (r.values?.p99 ?? -1) >= 0, r.result);
  });

  it('scenario 8: a tag invalidation costs what its files cost, not the cache size; recording is measured', () => {
    const probes = rows.filter((r) => r.id === '8' && r.case.startsWith('a tag on 100 files'));
    assert.equal(probes.length, 3);
    for (const r of probes) assert.equal(r.values!.deleted, 100);
    const all = rows.filter((r) => r.id === '8' && r.case.startsWith('a tag on every one'));
    assert.deepEqual(all.map((r) => r.values!.deleted), all.map((r) => r.values!.files));
    assert.equal(rows.filter((r) => r.id === '8' && r.scenario.startsWith('recording tags')).length, 3);
  });

  it('scenario 9: the nginx and Apache fronts against their static servers and nginx → farmgate', () => {
    const s9 = rows.filter((r) => r.id === '9');
    for (const target of ['nginx static', 'nginx front', 'nginx → farmgate', 'Apache static', 'Apache front']) {
      const row = s9.find((r) => r.case.startsWith(target) && r.values?.rps !== undefined);
      assert.ok(row, `no row for ${target}`);
      assert.ok(row.values!.rps! > 100, `${target}: ${row.values!.rps} req/s`);
      assert.ok(row.values!.ratio! > 0, `${target}: ratio ${row.values!.ratio}`);
    }
    for (const front of ['nginx front', 'Apache front']) {
      const vs = s9.find((r) => r.case.startsWith(front) && r.case.includes('against nginx → farmgate'));
      assert.ok(vs && vs.values!.ratio! > 0, `no comparison of ${front} with nginx → farmgate`);
    }
  });

  it('scenario 7: peak RSS during scenario 1 and after the warm', () => {
    const [during, warm] = rows.filter((r) => r.id === '7');
    assert.ok(during!.values!.peakBytes! > 10 * 1024 * 1024);
    assert.ok(warm!.values!.peak! >= warm!.values!.idle!);
  });
});
