/**
 * A tag invalidation as one operation, whichever door it came through (the API, a webhook,
 * another server of the web farm): per docroot of the farms it reaches, the tag invalidation of
 * apply-tags.ts; counted (`farmgate_flushes_total{action="tag"}`, the flush duration), listed in
 * the recent flushes with its door, and, through a local door, recorded for the web farm before
 * it resolves. The tag twin of flush/run-flush.ts, with the same retry for propagated events.
 */
import type { CacheStore } from '../cache/store.js';
import { AppError } from '../errors.js';
import type { RecentFlushes } from '../flush/recent.js';
import type { FlushRetry, FlushSource } from '../flush/run-flush.js';
import type { Runtime } from '../runtime.js';
import { invalidateTags } from './apply-tags.js';
import type { InvalidationAction } from './request.js';

export interface TagRequest {
  readonly tags: readonly string[];
  readonly action: InvalidationAction;
  /** Only these farms (by name; undefined = every farm). */
  readonly farms: readonly string[] | undefined;
}

/** What the web farm hears about a tag invalidation applied through a local door. */
export interface TagsAppliedEvent extends TagRequest {
  readonly at: number;
}

export interface TagFarmOutcome {
  readonly farm: string;
  readonly deleted: readonly string[];
  /** Files that carried each tag here. */
  readonly byTag: Readonly<Record<string, number>>;
  readonly error?: string;
}

export type TagRun = { readonly ok: true; readonly farms: TagFarmOutcome[]; readonly attempts: number } | { readonly ok: false; readonly error: AppError; readonly farms: TagFarmOutcome[]; readonly attempts: number };

export type RunTags = (rt: Runtime | (() => Runtime), req: TagRequest, source: FlushSource, retry?: FlushRetry) => Promise<TagRun>;

export interface TagRunnerDeps {
  readonly recent: RecentFlushes;
  readonly now?: () => number;
  /** Records a tag invalidation for the web farm (local doors); a rejection → FG_FLUSH_NOT_RECORDED. */
  readonly publish?: (event: TagsAppliedEvent) => Promise<void>;
}

export function createTagRunner(deps: TagRunnerDeps): RunTags {
  const now = deps.now ?? Date.now;
  return async function runTags(runtime, req, source, retry) {
    const current = typeof runtime === 'function' ? runtime : () => runtime;
    const started = performance.now();
    const local = source.door !== 'propagation' && source.door !== 'cold';
    let rt = current();
    let at = now();
    let result = await applyOnce(rt, req, at, source);
    const delays = retry?.delaysMs ?? [];
    let attempts = 1;
    for (; result.failure && attempts <= delays.length; attempts++) {
      await retry!.sleep(delays[attempts - 1]!);
      if (retry!.shouldStop?.()) break;
      rt = current();
      at = now();
      result = await applyOnce(rt, req, at, source);
    }
    const ms = Math.round((performance.now() - started) * 100) / 100;
    rt.metrics.flushDuration.observe(ms / 1000);
    deps.recent.record({
      time: new Date(at).toISOString(),
      origin: source.origin ?? rt.config.server.name,
      door: source.door,
      client: source.client,
      action: req.action,
      scope: undefined,
      handle: `tags: ${req.tags.join(' ')}`,
      path: '',
      farms: result.farms.map((f) => f.farm),
      touched: 0,
      deleted: new Set(result.farms.flatMap((f) => f.deleted)).size,
      ms,
      outcome: result.failure ? 'failed' : 'applied',
      status: result.failure ? result.failure.status : 200,
      result: result.failure ? result.failure.message : 'ok',
    });
    if (result.failure) return { ok: false, error: result.failure, farms: result.farms, attempts };
    if (local && deps.publish) {
      try {
        await deps.publish({ ...req, at });
      } catch (err) {
        throw new AppError('FG_FLUSH_NOT_RECORDED', `tags invalidated locally but not recorded for the web farm: ${(err as Error).message}`, { cause: err });
      }
    }
    return { ok: true, farms: result.farms, attempts };
  };
}

/** One attempt: every farm reached, one invalidation per docroot (farms sharing one share its index). */
async function applyOnce(rt: Runtime, req: TagRequest, at: number, source: FlushSource): Promise<{ farms: TagFarmOutcome[]; failure: AppError | undefined }> {
  const farms = rt.farms.filter((f) => !req.farms || req.farms.includes(f.name));
  const done = new Map<CacheStore, { deleted: string[]; byTag: Record<string, number> } | Error>();
  const out: TagFarmOutcome[] = [];
  let failure: AppError | undefined;
  for (const farm of farms) {
    const store = rt.cacheFor(farm);
    let result = done.get(store);
    if (!result) {
      try {
        result = await invalidateTags(store, rt.tagsFor(farm), req.tags, at);
      } catch (err) {
        result = err as Error;
      }
      done.set(store, result);
    }
    if (result instanceof Error) {
      rt.metrics.flushes.inc({ farm: farm.name, action: 'tag', result: 'error' });
      rt.log.error({ farm: farm.name, tags: req.tags, door: source.door, err: result.message }, 'tag invalidation failed');
      failure ??= new AppError('FG_FLUSH_IO', `farm ${farm.name}: ${result.message}`, { cause: result });
      out.push({ farm: farm.name, deleted: [], byTag: {}, error: result.message });
      continue;
    }
    rt.metrics.flushes.inc({ farm: farm.name, action: 'tag', result: 'ok' });
    rt.log.info({ farm: farm.name, tags: req.tags, deleted: result.deleted.length, door: source.door, client: source.client }, 'tags invalidated');
    out.push({ farm: farm.name, deleted: result.deleted, byTag: result.byTag });
  }
  return { farms: out, failure };
}
