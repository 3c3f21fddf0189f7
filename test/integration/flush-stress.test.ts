/**
 * No flush fails under concurrency (issue 14): several clients flush random handles (single
 * pages, their `base.*` siblings and `_jcr_content`, folders, `/content`, `/`) with every action,
 * with and without ResourceOnly and invalidate-and-refetch bodies, and invalidate paths and tags
 * through the signed invalidation API, while readers fetch pages through slow renders. The render
 * says when a request arrives, so a flusher can aim at a page that is being rendered and stored
 * at that moment (the races the fuzz run found: `ENOTEMPTY` deleting a folder being filled,
 * `ENOENT` touching a `.stat` whose folder another flush just removed).
 *
 * Asserted: every flush and invalidation answers 200 with its effect (the `.stat` files the
 * contract says it touches, recreated when missing), no response is a 5xx, no temporary file is
 * left, nothing was logged as failed, and every response started after a flush's 200 is at least
 * as new as that flush for every page the flush invalidated for sure (deleted, or stale by a
 * `.stat` it touched at the page's own lookup level; a stale page may still be answered
 * X-Cache: STALE while it is re-fetched, as contract section 3 says, a deleted one never).
 *
 * The operations come from a seed (printed; FARMGATE_STRESS_SEED=N replays the same operations,
 * the interleaving is the machine's). FARMGATE_STRESS_MS sets the duration (default 8 s).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { signBody } from '../../src/invalidation/signature.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const DURATION = Number(process.env.FARMGATE_STRESS_MS ?? 8_000);
const SEED = Number(process.env.FARMGATE_STRESS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STATFILESLEVEL = 4;
const SECRET = 'stress-secret-0123456789abcdef';
const API = '/farmgate/v1/invalidate';

// ---------------------------------------------------------------- the site

const SECTIONS = ['en', 'de', 'fr', 'it'] as const;
/** Every page readers ask for; folders down to depth 5, so statfileslevel 4 caps some lookups. */
const PAGES: string[] = [];
for (const s of SECTIONS) {
  PAGES.push(`/content/site/${s}.html`);
  for (const p of ['home', 'news']) {
    PAGES.push(`/content/site/${s}/${p}.html`, `/content/site/${s}/${p}.mobile.html`, `/content/site/${s}/${p}/_jcr_content/hero.png`);
    for (let i = 0; i < 3; i++) PAGES.push(`/content/site/${s}/${p}/p${i}.html`);
    PAGES.push(`/content/site/${s}/${p}/2024/deep.html`);
  }
}
const TAGS = [...SECTIONS.map((s) => `sec-${s}`), ...PAGES.map(pageTag)];

function withoutExtension(p: string): string {
  const slash = p.lastIndexOf('/');
  const dot = p.indexOf('.', slash);
  return dot < 0 ? p : p.slice(0, dot);
}
/** `/a/b/c` → [`/a/b/c`, `/a/b`, `/a`, `/`]. */
function ancestors(p: string): string[] {
  const out = [p];
  for (let q = p; q !== '/'; ) out.push((q = q.slice(0, q.lastIndexOf('/')) || '/'));
  return out;
}
function pageTag(p: string): string {
  return 'page' + p.replace(/[^a-z0-9]+/g, '-');
}
function tagsOf(p: string): string[] {
  return [`sec-${p.split('/')[3]!.replace(/\..*$/, '')}`, pageTag(p)];
}

// ---------------------------------------------------------------- the oracle (independent of src/)

interface Sent {
  readonly action: 'Activate' | 'Deactivate' | 'Delete' | 'Test';
  readonly resourceOnly: boolean;
  /** Handles (flushes, API paths) or tags (API tags). */
  readonly handles: readonly string[];
  readonly tags: readonly string[];
  readonly sentAt: number;
  ackAt: number;
}

const dirOf = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
const lastSegmentHasExtension = (p: string) => p.slice(p.lastIndexOf('/') + 1).lastIndexOf('.') > 0;
const depthOf = (folder: string) => (folder === '/' ? 0 : folder.split('/').length - 1);
const ancestorAt = (folder: string, level: number) => '/' + folder.split('/').filter(Boolean).slice(0, level).join('/');

/** The folders whose `.stat` a flush of `handle` touches (contract section 4), docroot first. */
function statFolders(handle: string): string[] {
  const folder = handle === '/' ? '/' : lastSegmentHasExtension(handle) ? dirOf(handle) : handle;
  const max = Math.min(STATFILESLEVEL, depthOf(folder));
  return Array.from({ length: max + 1 }, (_, level) => ancestorAt(folder, level));
}

/** Does a flush of `handle` delete the cached file `page` (contract section 4)? */
function deletes(action: Sent['action'], handle: string, page: string): boolean {
  if (action === 'Test') return false;
  const removesFolder = action === 'Deactivate' || action === 'Delete';
  if (handle === '/') return removesFolder;
  if (page === handle) return true;
  if (dirOf(page) === dirOf(handle) && page.slice(page.lastIndexOf('/') + 1).startsWith(handle.slice(handle.lastIndexOf('/') + 1) + '.')) return true;
  return page.startsWith(handle + (removesFolder ? '/' : '/_jcr_content/'));
}

/**
 * How `page` is invalidated for sure once `s` answered 200: `deleted` (by the flush, or as a file
 * carrying an invalidated tag), `stale` (`cache.invalidate` allows `*.html`, and the flush touched
 * the `.stat` its lookup starts at: that one then exists and is at least as new as the flush,
 * whatever other flushes do meanwhile), or undefined (maybe not: it depends on other `.stat`s).
 */
function invalidation(s: Sent, page: string): 'deleted' | 'stale' | undefined {
  if (s.tags.some((t) => tagsOf(page).includes(t))) return 'deleted';
  if (s.handles.some((h) => deletes(s.action, h, page))) return 'deleted';
  if (s.action === 'Test' || s.resourceOnly || !page.endsWith('.html')) return undefined;
  const first = ancestorAt(dirOf(page), Math.min(STATFILESLEVEL, depthOf(dirOf(page))));
  return s.handles.some((h) => statFolders(h).includes(first)) ? 'stale' : undefined;
}

// ---------------------------------------------------------------- operations from the seed

type Op = { pause: number } & (
  | { kind: 'flush'; page: number; action: Sent['action']; resourceOnly: boolean; aim: boolean; up: number; refetch: number[] }
  | { kind: 'api-paths'; handles: number[]; action: 'Activate' | 'Delete'; aim: boolean; up: number }
  | { kind: 'api-tags'; tags: number[] }
);

const action = fc.oneof(
  { arbitrary: fc.constant('Activate' as const), weight: 6 },
  { arbitrary: fc.constant('Deactivate' as const), weight: 2 },
  { arbitrary: fc.constant('Delete' as const), weight: 2 },
  { arbitrary: fc.constant('Test' as const), weight: 1 },
);
const index = (n: number) => fc.integer({ min: 0, max: n - 1 });
/**
 * How many folders above a page its flush handle is: mostly the page itself (its `base.*` and
 * `_jcr_content`), sometimes its folder, now and then a section, `/content` or `/`.
 */
const up = fc.oneof(
  { arbitrary: fc.constant(0), weight: 12 },
  { arbitrary: fc.constant(1), weight: 4 },
  { arbitrary: fc.integer({ min: 2, max: 6 }), weight: 2 },
);
const operation = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('flush' as const),
      page: index(PAGES.length),
      action,
      resourceOnly: fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
      aim: fc.boolean(),
      up,
      refetch: fc.oneof({ arbitrary: fc.constant([] as number[]), weight: 4 }, { arbitrary: fc.array(index(PAGES.length), { minLength: 1, maxLength: 3 }), weight: 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('api-paths' as const),
      handles: fc.array(index(PAGES.length), { minLength: 1, maxLength: 3 }),
      action: fc.constantFrom('Activate' as const, 'Delete' as const),
      aim: fc.boolean(),
      up,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('api-tags' as const), tags: fc.array(index(TAGS.length), { minLength: 1, maxLength: 2 }) }) },
);
/** Each flusher pauses 0–60 ms between operations, so pages live long enough to be hit. */
const opArb: fc.Arbitrary<Op> = fc.tuple(operation, fc.integer({ min: 0, max: 60 })).map(([op, pause]) => ({ ...op, pause }));
const readArb = fc.record({ page: index(PAGES.length), head: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) });

describe(`flushes under concurrency (seed ${SEED}, FARMGATE_STRESS_SEED=${SEED} to replay)`, () => {
  let render: TestRender;
  let fg: TestFarmgate;
  const logs: { level: number; msg: string; [k: string]: unknown }[] = [];
  /** Pages being rendered now: the render adds each request as it arrives (the signal flushers aim at). */
  const rendering: string[] = [];
  const renderDelays = fc.sample(fc.integer({ min: 0, max: 25 }), { seed: SEED, numRuns: 4096 });
  let renders = 0;

  before(async () => {
    render = await startRender(async (req) => {
      const p = (req.url ?? '').split('?')[0]!;
      const stamp = performance.now();
      rendering.push(p);
      // Slow renders: the page is in flight while flushes land; answered after a seeded delay.
      await new Promise((r) => setTimeout(r, renderDelays[renders++ % renderDelays.length]));
      rendering.splice(rendering.indexOf(p), 1);
      return {
        headers: { 'content-type': p.endsWith('.png') ? 'image/png' : 'text/html', 'surrogate-key': tagsOf(p).join(' ') },
        body: `${p} @${stamp}`,
      };
    });
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) logs.push(JSON.parse(l));
        cb();
      },
    });
    const yaml = oneFarmYaml(render.url, { statfileslevel: STATFILESLEVEL, gracePeriodMs: 0, statCheckIntervalMs: 1000 }, `invalidation:\n  api:\n    secret: "${SECRET}"\n`);
    // Every handle routes to the farm, `/` and `/content` included.
    fg = await startFarmgate(yaml.replace('flushRoutes: ["/content/**"]', 'flushRoutes: ["/**"]'), { log: pino({ level: 'warn' }, sink) });
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it(`every flush answers 200 with its effect, no 5xx, no temporary file, nothing older than an acknowledged flush (${DURATION / 1000} s)`, { timeout: DURATION + 120_000 }, async () => {
    console.log(`# flush stress: seed ${SEED} (FARMGATE_STRESS_SEED=${SEED} FARMGATE_STRESS_MS=${DURATION} to replay)`);
    const sent: Sent[] = [];
    const reads: { page: string; t0: number; stamp: number | undefined; cache: string | null }[] = [];
    const failures: string[] = [];
    let running = true;

    /** `up` folders above a page: the page being rendered right now when aiming, else the op's own. */
    const aimed = (page: string, aim: boolean, up: number): string => {
      const chain = ancestors(withoutExtension(aim && rendering.length > 0 ? rendering[rendering.length - 1]! : page));
      return chain[Math.min(up, chain.length - 1)]!;
    };

    const flush = async (op: Extract<Op, { kind: 'flush' }>) => {
      const handle = aimed(PAGES[op.page]!, op.aim, op.up);
      const headers: Record<string, string> = { 'cq-action': op.action, 'cq-handle': handle, accept: 'application/json' };
      if (op.resourceOnly) headers['cq-action-scope'] = 'ResourceOnly';
      let body: string | undefined;
      if (op.refetch.length > 0 && op.action === 'Activate') {
        headers['content-type'] = 'text/plain';
        body = op.refetch.map((i) => PAGES[i]).join('\n');
      }
      const s: Sent = { action: op.action, resourceOnly: op.resourceOnly, handles: [handle], tags: [], sentAt: performance.now(), ackAt: Infinity };
      const res = await fg.request('/dispatcher/invalidate.cache', { method: 'POST', headers, ...(body ? { body } : {}) });
      const text = await res.text();
      if (res.status !== 200) return void failures.push(`flush ${op.action}${op.resourceOnly ? ' ResourceOnly' : ''} ${handle}: ${res.status} ${text.trim()}`);
      s.ackAt = performance.now();
      sent.push(s);
      const json = JSON.parse(text) as { farms: { touched: string[] }[] };
      const want = op.action === 'Test' || op.resourceOnly ? [] : statFolders(handle).map((d) => (d === '/' ? '/.stat' : d + '/.stat'));
      // Test lists its farms with nothing done; every other flush touched every `.stat` on its path.
      if (JSON.stringify(json.farms[0]?.touched) !== JSON.stringify(want)) failures.push(`flush ${op.action} ${handle}: touched ${JSON.stringify(json.farms[0]?.touched)}, expected ${JSON.stringify(want)}`);
    };

    const invalidate = async (op: Exclude<Op, { kind: 'flush' }>) => {
      const tags = op.kind === 'api-tags' ? op.tags.map((i) => TAGS[i]!) : [];
      const paths = op.kind === 'api-paths' ? op.handles.map((i, k) => (k === 0 ? apiPath(PAGES[i]!, op.aim, op.up) : PAGES[i]!)) : [];
      const payload = op.kind === 'api-tags' ? { tags } : { paths, action: op.action };
      const s: Sent = { action: op.kind === 'api-tags' ? 'Activate' : op.action, resourceOnly: false, handles: paths, tags, sentAt: performance.now(), ackAt: Infinity };
      const text = JSON.stringify(payload);
      const res = await fg.request(API, { method: 'POST', headers: { 'content-type': 'application/json', 'x-farmgate-signature': signBody(text, SECRET) }, body: text });
      const answer = await res.text();
      if (res.status !== 200) return void failures.push(`invalidation ${text}: ${res.status} ${answer.trim()}`);
      s.ackAt = performance.now();
      sent.push(s);
    };
    /** An API path: a page (with its extension), or a folder above it; aimed like a flush handle. */
    const apiPath = (page: string, aim: boolean, up: number) =>
      up > 0 ? aimed(page, aim, up) : aim && rendering.length > 0 ? rendering[rendering.length - 1]! : page;

    const flusher = async (client: number) => {
      const ops = fc.sample(opArb, { seed: SEED + client, numRuns: 100_000 });
      for (let i = 0; running; i++) {
        const op = ops[i % ops.length]!;
        if (op.kind === 'flush') await flush(op);
        else await invalidate(op);
        await new Promise((r) => setTimeout(r, op.pause));
      }
    };
    const reader = async (client: number) => {
      const ops = fc.sample(readArb, { seed: SEED + 100 + client, numRuns: 100_000 });
      for (let i = 0; running; i++) {
        const op = ops[i % ops.length]!;
        const page = PAGES[op.page]!;
        const t0 = performance.now();
        const res = await fg.request(page, { host: 'site.local', method: op.head ? 'HEAD' : 'GET' });
        const body = await res.text();
        if (res.status !== 200) failures.push(`GET ${page}: ${res.status} ${body.slice(0, 200)}`);
        const stamp = op.head ? undefined : Number(/ @([\d.]+)$/.exec(body)?.[1]);
        reads.push({ page, t0, stamp, cache: res.headers.get('x-cache') });
      }
    };
    const workers = [...Array.from({ length: 4 }, (_, i) => flusher(i)), ...Array.from({ length: 6 }, (_, i) => reader(i))];
    // A load run of a set duration (the consistency test does the same); nothing waits on timing.
    await new Promise((r) => setTimeout(r, DURATION));
    running = false;
    await Promise.all(workers);

    // Quiet now: every response has ended, so every fill has committed; wait for the store anyway.
    const rt = fg.app.runtime();
    await rt.cacheFor(rt.farms[0]!).settle();
    const temps: string[] = [];
    const walk = async (dir: string) => {
      for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (e.name.includes('.fgtmp-')) temps.push(path.join(dir, e.name));
        if (e.isDirectory()) await walk(path.join(dir, e.name));
      }
    };
    await walk(fg.docroot('site'));

    // "While a stale file is being re-fetched, concurrent requests get the stale copy" (contract
    // section 3): a page a flush made stale (not deleted) may still be answered X-Cache: STALE.
    const violations: string[] = [];
    for (const r of reads) {
      if (r.stamp === undefined) continue;
      for (const s of sent) {
        if (!(s.ackAt < r.t0 && r.stamp < s.sentAt)) continue;
        const how = invalidation(s, r.page);
        if (how === 'deleted' || (how === 'stale' && r.cache !== 'STALE')) {
          violations.push(`${r.page} (${r.cache}) read at ${r.t0.toFixed(1)} rendered at ${r.stamp.toFixed(1)}, before ${s.action}${s.resourceOnly ? ' ResourceOnly' : ''} ${[...s.handles, ...s.tags].join(' ')} (${how}) sent at ${s.sentAt.toFixed(1)}, acknowledged at ${s.ackAt.toFixed(1)}`);
          break;
        }
      }
    }
    // A refetch that a later flush made obsolete while it was rendered is rightly not stored.
    const superseded = (l: (typeof logs)[number]) => l.msg === 'refetch failed' && String(l.err).endsWith('not stored');
    const failedLogs = logs.filter((l) => (l.level >= 50 || /failed/.test(l.msg)) && !superseded(l)).map((l) => JSON.stringify(l));
    const hits = reads.filter((r) => r.cache === 'HIT').length;
    const counts = new Map<string, number>();
    for (const r of reads) counts.set(r.cache ?? 'none', (counts.get(r.cache ?? 'none') ?? 0) + 1);
    const byCache = [...counts].map(([k, n]) => `${n} ${k}`);
    console.log(`# ${sent.length} flushes and invalidations, ${reads.length} reads (${byCache.join(', ')}), ${renders} renders`);
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} failures (seed ${SEED})`);
    assert.deepEqual(temps, [], `temporary files left (seed ${SEED})`);
    assert.deepEqual(failedLogs.slice(0, 10), [], `failures logged (seed ${SEED})`);
    assert.deepEqual(violations.slice(0, 10), [], `${violations.length} stale responses after a flush (seed ${SEED})`);
    // The run is bounded in time, so a busy machine makes less traffic; this much still means every
    // path (hits, misses, renders in flight, flushes of each kind) was exercised.
    assert.ok(sent.length > 100 && reads.length > 200 && hits >= 10 && renders > 100, `enough traffic: ${sent.length} flushes, ${reads.length} reads, ${hits} hits, ${renders} renders`);
  });
});
