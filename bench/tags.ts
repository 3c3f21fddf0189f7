/**
 * Scenario 8 (issue 15): what tags cost.
 *
 * - Invalidating a tag carried by 100 files, in caches of 100, 10,000 and 100,000 tagged files:
 *   the time must not grow with the cache (ratio to the smallest cache ≈ 1).
 * - Invalidating a tag carried by every file (100, 10,000, 100,000): the time per file deleted.
 * - Rebuilding the index from the `.h` sidecars after a crash, and its memory.
 * - Recording tags on the miss path: storing a file with 0, 20, 200 and 1,000 tags through the
 *   file-system store with the tag index listening (tag parsing, a bigger `.h`, the index update
 *   and its journal line), per file, against the same store without tags.
 *
 * In-process, on the real FsStore and TagStore (no HTTP: what is measured is the tag work).
 * Files are written straight to a temp docroot as the store lays them out, then indexed by the
 * crash rebuild; the store then deletes through its normal door.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { FsStore } from '../src/cache/fs-store.js';
import { HotLayer } from '../src/cache/hot-layer.js';
import { encodeHeaders } from '../src/cache/sidecars.js';
import { invalidateTags } from '../src/invalidation/apply-tags.js';
import { tagObserver } from '../src/tags/observer.js';
import { responseTags } from '../src/tags/parse.js';
import { TagStore } from '../src/tags/tag-store.js';
import type { Row } from './scenarios.js';

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const n0 = (v: number) => Math.round(v).toLocaleString('en-US');

interface Cache {
  dir: string;
  store: FsStore;
  tags: TagStore;
  rebuildMs: number;
  heapPerFile: number;
}

v8.setFlagsFromString('--expose-gc');
/** A full GC, so heap differences measure what stays (node's `--expose-gc`, turned on at run time). */
const gc = vm.runInNewContext('gc') as () => void;

/**
 * N tagged files (each `f<i>`, `g<i % 100>` and `all`) plus 100 files tagged `probe`, indexed by
 * the crash rebuild.
 */
async function makeCache(n: number): Promise<Cache> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-bench-tags-')));
  const docroot = path.join(dir, 'docroot');
  const total = n + 100;
  for (let i = 0; i < total; i += 1000) {
    const folder = path.join(docroot, 'content', `d${Math.floor(i / 1000)}`);
    await fs.mkdir(folder, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let j = i; j < Math.min(total, i + 1000); j++) {
      const tags = j < n ? [`f${j}`, `g${j % 100}`, 'all'] : [`f${j}`, 'probe', 'other'];
      const file = path.join(folder, `p${j}.html`);
      writes.push(fs.writeFile(file, `<html>page ${j}</html>`), fs.writeFile(file + '.h', encodeHeaders([['content-type', 'text/html']], tags)));
    }
    await Promise.all(writes);
  }
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const tags = await TagStore.open({ stateDir: path.join(dir, 'state'), realDocroot: docroot });
  await tags.whenReady();
  const rebuildMs = performance.now() - t0;
  gc();
  const heapPerFile = Math.max(0, process.memoryUsage().heapUsed - heapBefore) / total;
  const store = await FsStore.open(docroot, { hot: new HotLayer(0, 0), observer: tagObserver(tags) });
  return { dir, store, tags, rebuildMs, heapPerFile };
}

/** Writes 100 more files tagged `tag` (as the store lays them out) and records them. */
async function addTagged(c: Cache, tag: string): Promise<void> {
  const folder = path.join(c.store.docroot, 'content', tag);
  await fs.mkdir(folder, { recursive: true });
  await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const file = path.join(folder, `p${i}.html`);
      await fs.writeFile(file, `<html>${tag} ${i}</html>`);
      await fs.writeFile(file + '.h', encodeHeaders([['content-type', 'text/html']], [tag]));
      c.tags.record(`/content/${tag}/p${i}.html`, [tag]);
    }),
  );
}

/** Dirty pages of the files just written are flushed first, so their writeback is not timed. */
function quiesce(): void {
  try {
    execFileSync('sync', { timeout: 60_000 });
  } catch {
    /* no sync(1): measure anyway */
  }
}

async function timeInvalidation(c: Cache, tag: string): Promise<{ ms: number; deleted: number }> {
  quiesce();
  const t0 = performance.now();
  const r = await invalidateTags(c.store, c.tags, [tag], Date.now());
  return { ms: performance.now() - t0, deleted: r.deleted.length };
}

/** Stores `files` files with `k` tags each; ms per file. */
async function timeStores(k: number, files: number): Promise<number> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-bench-tagrec-')));
  try {
    const tags = await TagStore.open({ stateDir: path.join(dir, 'state'), realDocroot: await mkdirReal(path.join(dir, 'docroot')) });
    await tags.whenReady();
    const store = await FsStore.open(path.join(dir, 'docroot'), { hot: new HotLayer(1 << 24, 1 << 16), observer: tagObserver(tags) });
    const header = Array.from({ length: k }, (_, i) => `content-item-${i}`).join(' ');
    const body = Buffer.alloc(8192, 120);
    const t0 = performance.now();
    for (let i = 0; i < files; i++) {
      const parsed = k > 0 ? responseTags({ 'surrogate-key': header }, ['surrogate-key']).tags : [];
      const w = store.beginWrite(`/content/r/p${i % 200}.html`, Date.now());
      w.write(body);
      await w.commit({ headers: [['content-type', 'text/html']], ttlExpiresMs: undefined, tags: parsed });
    }
    await tags.flush();
    const per = (performance.now() - t0) / files;
    await tags.close();
    return per;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function mkdirReal(d: string): Promise<string> {
  await fs.mkdir(d, { recursive: true });
  return fs.realpath(d);
}

export async function scenarioTags(opts: { quick: boolean; log: (m: string) => void }): Promise<Row[]> {
  const sizes = opts.quick ? [100, 1_000, 3_000] : [100, 10_000, 100_000];
  const rows: Row[] = [];
  const probe: number[] = [];
  // Warm-up (JIT, the thread pool), not reported.
  const warm = await makeCache(200);
  await timeInvalidation(warm, 'probe');
  await warm.tags.close();
  await fs.rm(warm.dir, { recursive: true, force: true });
  for (const n of sizes) {
    opts.log(`  tags: writing ${n0(n)} tagged files`);
    const c = await makeCache(n);
    try {
      // Median of three probes of 100 files each.
      const probes: { ms: number; deleted: number }[] = [await timeInvalidation(c, 'probe')];
      for (const round of ['probe-2', 'probe-3']) {
        await addTagged(c, round);
        probes.push(await timeInvalidation(c, round));
      }
      const p = probes.sort((a, b) => a.ms - b.ms)[1]!;
      probe.push(p.ms);
      const all = await timeInvalidation(c, 'all');
      rows.push({
        id: '8',
        scenario: 'tag invalidation',
        case: `a tag on 100 files, cache of ${n0(n)} (+100) tagged files (median of 3)`,
        result: `${ms(p.ms)} ms (${p.deleted} deleted)`,
        ratio: `${(p.ms / probe[0]!).toFixed(2)}× the ${n0(sizes[0]!)}-file cache`,
        goal: 'independent of the cache size',
        values: { files: n, ms: p.ms, deleted: p.deleted },
      });
      rows.push({
        id: '8',
        scenario: 'tag invalidation',
        case: `a tag on every one of ${n0(n)} files`,
        result: `${ms(all.ms)} ms, ${(1000 * all.ms / Math.max(1, all.deleted)).toFixed(0)} µs per file (${n0(all.deleted)} deleted, with .h)`,
        goal: 'in proportion to the files carrying it',
        values: { files: n, ms: all.ms, deleted: all.deleted },
      });
      rows.push({
        id: '8',
        scenario: 'tag index',
        case: `rebuild from the sidecars after a crash, ${n0(n + 100)} files`,
        result: `${ms(c.rebuildMs)} ms; ~${n0(c.heapPerFile)} bytes of heap per file (3 tags each)`,
        values: { files: n, ms: c.rebuildMs, heapPerFile: c.heapPerFile },
      });
    } finally {
      await c.tags.close();
      await fs.rm(c.dir, { recursive: true, force: true });
    }
  }
  const files = opts.quick ? 150 : 2000;
  // Interleaved and repeated (median of 3): the machine's noise hits both sides alike.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const runs = new Map<number, number[]>();
  for (let r = 0; r < 3; r++) {
    for (const k of [0, 20, 200, 1000]) runs.set(k, [...(runs.get(k) ?? []), await timeStores(k, files)]);
  }
  const base = median(runs.get(0)!);
  for (const k of [20, 200, 1000]) {
    const per = median(runs.get(k)!);
    rows.push({
      id: '8',
      scenario: 'recording tags (miss path)',
      case: `store an 8 KiB page with ${k} tags vs none`,
      result: `${(per * 1000).toFixed(0)} µs vs ${(base * 1000).toFixed(0)} µs per file`,
      ratio: `${per >= base ? '+' : '−'}${(Math.abs(per - base) * 1000).toFixed(0)} µs`,
      values: { tags: k, usPerFile: per * 1000, baseUsPerFile: base * 1000 },
    });
  }
  return rows;
}
