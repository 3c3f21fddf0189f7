/**
 * The admin API's data (contract section 6): farms, servers, recent flushes, explain, flush.
 * Plain functions returning JSON-ready values; admin.ts maps them to routes and the admin page
 * renders the same values as HTML.
 */
import { TMP_MARKER } from '../cache/doc-path.js';
import { walkFiles } from '../cache/walk.js';
import { AppError } from '../errors.js';
import { explainFlush, type ExplainReport } from '../flush/explain.js';
import { parseFlush } from '../flush/parse.js';
import type { FlushResponseJson } from '../flush/respond.js';
import type { RunFlush } from '../flush/run-flush.js';
import type { Metrics } from '../metrics.js';
import type { Runtime } from '../runtime.js';

export interface FarmStatus {
  readonly name: string;
  readonly virtualhosts: readonly string[];
  readonly docroot: string;
  readonly statfileslevel: number;
  readonly flushRoutes: readonly string[];
  readonly renders: readonly string[];
  readonly requests: { hit: number; miss: number; stale: number; pass: number };
  /** hits / (hits + misses + stale), or null before any cacheable request. */
  readonly hitRatio: number | null;
  /** Cached pages in the docroot (sidecars and .stat files not counted); null when not counted. */
  readonly cachedFiles: number | null;
  /** True when counting stopped at the cap: the real number is larger. */
  readonly cachedFilesCapped: boolean;
}

export interface ServerStatus {
  readonly name: string;
  readonly self: boolean;
  readonly lastHeartbeat: string | null;
  readonly responding: boolean;
  readonly lag: number;
  readonly held: boolean;
  readonly [extra: string]: unknown;
}

/** Counting stops here, so the page stays cheap on a large cache. */
export const COUNT_CAP = 20_000;
const COUNT_TTL_MS = 30_000;
const counts = new Map<string, { at: number; files: number; capped: boolean }>();

/** Counts cached files under a docroot, up to COUNT_CAP entries, remembered for 30 s. */
async function countCachedFiles(docroot: string): Promise<{ files: number; capped: boolean }> {
  const known = counts.get(docroot);
  if (known && Date.now() - known.at < COUNT_TTL_MS) return known;
  let files = 0;
  const walk = walkFiles(docroot, { maxEntries: COUNT_CAP });
  let step = await walk.next();
  for (; !step.done; step = await walk.next()) {
    const { name } = step.value.entry;
    if (step.value.entry.isFile() && name !== '.stat' && !name.endsWith('.h') && !name.endsWith('.ttl') && !name.startsWith(TMP_MARKER)) files++;
  }
  const result = { at: Date.now(), files, capped: !step.value.complete };
  counts.set(docroot, result);
  return result;
}

export async function farmsStatus(rt: Runtime, metrics: Metrics): Promise<FarmStatus[]> {
  const byFarm = new Map<string, { hit: number; miss: number; stale: number; pass: number }>();
  for (const v of (await metrics.requests.get()).values) {
    const farm = String(v.labels.farm ?? '');
    const cache = String(v.labels.cache ?? '') as 'hit' | 'miss' | 'stale' | 'pass';
    const row = byFarm.get(farm) ?? { hit: 0, miss: 0, stale: 0, pass: 0 };
    if (cache in row) row[cache] += v.value;
    byFarm.set(farm, row);
  }
  return Promise.all(
    rt.farms.map(async (farm) => {
      const requests = byFarm.get(farm.name) ?? { hit: 0, miss: 0, stale: 0, pass: 0 };
      const cacheable = requests.hit + requests.miss + requests.stale;
      const counted = await countCachedFiles(farm.docroot);
      return {
        name: farm.name,
        virtualhosts: farm.config.virtualhosts,
        docroot: farm.docroot,
        statfileslevel: farm.config.cache.statfileslevel,
        flushRoutes: farm.config.flushRoutes,
        renders: farm.config.renders.map((r) => r.url),
        requests,
        hitRatio: cacheable === 0 ? null : requests.hit / cacheable,
        cachedFiles: counted.files,
        cachedFilesCapped: counted.capped,
      };
    }),
  );
}

/** Validates explain/flush input the way the flush endpoint validates its headers. */
function toFlushRequest(rt: Runtime, input: Record<string, unknown>) {
  const str = (k: string) => (typeof input[k] === 'string' && input[k] !== '' ? (input[k] as string) : undefined);
  const headers: Record<string, string> = {};
  if (str('action')) headers['cq-action'] = str('action')!;
  if (str('handle')) headers['cq-handle'] = str('handle')!;
  if (str('path')) headers['cq-path'] = str('path')!;
  if (str('scope')) headers['cq-action-scope'] = str('scope')!;
  const refetch = Array.isArray(input.refetch) ? input.refetch.filter((u): u is string => typeof u === 'string') : [];
  if (refetch.length > 0) headers['content-type'] = 'text/plain';
  const parsed = parseFlush(headers, Buffer.from(refetch.join('\n')), rt.config.server.limits);
  if (!parsed.ok) throw parsed.error;
  return parsed.flush;
}

export async function explain(rt: Runtime, input: Record<string, unknown>): Promise<ExplainReport> {
  const flush = toFlushRequest(rt, input);
  return explainFlush(rt.farms, { handle: flush.handle, routingKey: flush.routingKey, action: flush.action, scope: flush.scope });
}

export async function flushFromAdmin(runFlush: RunFlush, rt: Runtime, input: Record<string, unknown>): Promise<FlushResponseJson> {
  const run = await runFlush(rt, toFlushRequest(rt, input), { door: 'admin', client: 'admin' });
  if (!run.ok) throw run.error;
  return run.json;
}
