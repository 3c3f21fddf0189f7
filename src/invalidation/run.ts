/**
 * An invalidation (API or webhook) as flushes: "A path acts like a flush whose handle is that
 * path (its farm(s) chosen by `flushRoutes`, `.stat` files touched as section 4 says); a tag
 * deletes every cached file that carries it (in the given farms), with its sidecars, and touches
 * no `.stat`" (contract section 4a). Each path goes through the flush machinery (the same apply,
 * metrics, recent list and web-farm recording as a flush from AEM); tags through
 * apply-tags.ts, counted and listed the same way (action label `tag`).
 *
 * Order: every path is routed first, so `flush.unrouted: reject` refuses before anything is done;
 * then paths, then tags; then the 200. A farm that fails does not stop the others; the first
 * failure is answered (500) once everything else was applied, and a retry is harmless.
 */
import type { CacheStore } from '../cache/store.js';
import { AppError } from '../errors.js';
import { routeFlush } from '../farms/select.js';
import type { RecentFlushes } from '../flush/recent.js';
import type { RunFlush } from '../flush/run-flush.js';
import type { FlushDoor, FlushRequest } from '../flush/types.js';
import type { Runtime } from '../runtime.js';
import { invalidateTags } from './apply-tags.js';
import type { Invalidation } from './request.js';
import type { InvalidationFarmJson, InvalidationJson, Invalidator } from './types.js';

/** What the web farm hears about a tag invalidation applied here. */
export interface TagsAppliedEvent {
  readonly tags: readonly string[];
  readonly action: Invalidation['action'];
  /** Farms named by the request (undefined = every farm). */
  readonly farms: readonly string[] | undefined;
  readonly at: number;
}

export interface InvalidatorDeps {
  readonly recent?: RecentFlushes;
  /** The flush operation (flush/run-flush.ts): each path goes through it, recorded and published as a flush. */
  readonly runFlush: RunFlush;
  /** Records a tag invalidation for the web farm. */
  readonly publishTags?: (event: TagsAppliedEvent) => Promise<void>;
  readonly now?: () => number;
}

interface FarmAcc {
  deleted: Set<string>;
  touched: Set<string>;
  paths: string[];
  tags: Record<string, number>;
}

export function createInvalidator(deps: InvalidatorDeps): Invalidator {
  const now = deps.now ?? Date.now;
  return async (rt, inv, source) => {
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
    const only = inv.farms ? new Set(inv.farms) : undefined;
    const routed = inv.paths.map((p) => ({ path: p, routes: routeFlush(rt.farms, p).filter((r) => !only || only.has(r.farm.name)) }));
    const unrouted = routed.filter((r) => r.routes.length === 0).map((r) => r.path);
    if (unrouted.length > 0) {
      rt.metrics.flushUnrouted.inc(unrouted.length);
      rt.log.warn({ door: source.door, client: source.client, paths: unrouted, unrouted: rt.config.flush.unrouted }, 'invalidation path routed to no farm');
      if (rt.config.flush.unrouted === 'reject') throw new AppError('FG_FLUSH_UNROUTED', `no farm routes ${unrouted.map((p) => JSON.stringify(p)).join(', ')}`);
    }

    const acc = new Map<string, FarmAcc>();
    const farmAcc = (name: string) => {
      let a = acc.get(name);
      if (!a) acc.set(name, (a = { deleted: new Set(), touched: new Set(), paths: [], tags: {} }));
      return a;
    };
    let failure: AppError | undefined;
    const at = now();

    for (const { path, routes } of routed) {
      if (routes.length === 0) continue;
      // A path is a flush: the same operation, recording, metrics and web-farm event as one from AEM.
      const flush: FlushRequest = { action: inv.action, scope: undefined, handle: path, routingKey: path, refetch: [] };
      const run = await deps.runFlush(rt, flush, { door: source.door, client: source.client, ...(inv.farms ? { farms: inv.farms } : {}) });
      for (const o of run.json.farms) {
        const a = farmAcc(o.farm);
        a.paths.push(path);
        o.deleted.forEach((d) => a.deleted.add(d));
        o.touched.forEach((t) => a.touched.add(t));
      }
      if (!run.ok) failure ??= run.error;
    }

    if (inv.tags.length > 0) {
      const t0 = performance.now();
      const farms = rt.farms.filter((f) => !only || only.has(f.name));
      // Farms sharing a docroot share its store and index: one invalidation per docroot.
      const done = new Map<CacheStore, { deleted: string[]; byTag: Record<string, number> } | Error>();
      for (const farm of farms) {
        const store = rt.cacheFor(farm);
        let result = done.get(store);
        if (!result) {
          try {
            result = await invalidateTags(store, rt.tagsFor(farm), inv.tags, at);
          } catch (err) {
            result = err as Error;
          }
          done.set(store, result);
        }
        const a = farmAcc(farm.name);
        if (result instanceof Error) {
          rt.metrics.flushes.inc({ farm: farm.name, action: 'tag', result: 'error' });
          rt.log.error({ farm: farm.name, tags: inv.tags, err: result.message }, 'tag invalidation failed');
          failure ??= new AppError('FG_FLUSH_IO', `farm ${farm.name}: ${result.message}`, { cause: result });
          continue;
        }
        result.deleted.forEach((d) => a.deleted.add(d));
        Object.assign(a.tags, result.byTag);
        rt.metrics.flushes.inc({ farm: farm.name, action: 'tag', result: 'ok' });
        rt.log.info({ farm: farm.name, tags: inv.tags, deleted: result.deleted.length, door: source.door, client: source.client }, 'tags invalidated');
      }
      const deleted = [...done.values()].reduce((n, r) => n + (r instanceof Error ? 0 : r.deleted.length), 0);
      rt.metrics.flushDuration.observe((performance.now() - t0) / 1000);
      record(deps, rt, source.door, inv.action, `tags: ${inv.tags.join(' ')}`, '', farms.map((f) => f.name), 0, deleted, performance.now() - t0, failure, at);
      if (!failure) await publish(() => deps.publishTags?.({ tags: inv.tags, action: inv.action, farms: inv.farms, at }));
    }
    if (failure) throw failure;

    const farmsJson: InvalidationFarmJson[] = [...acc.entries()].map(([farm, a]) => ({
      farm,
      deleted: [...a.deleted].sort(),
      touched: [...a.touched].sort(),
      paths: a.paths,
      tags: a.tags,
    }));
    return { action: inv.action, paths: inv.paths, tags: inv.tags, farms: farmsJson, unrouted, ms: elapsed() } satisfies InvalidationJson;
  };
}

async function publish(send: () => Promise<void> | undefined): Promise<void> {
  try {
    await send();
  } catch (err) {
    throw new AppError('FG_FLUSH_NOT_RECORDED', `invalidation applied locally but not recorded for the web farm: ${(err as Error).message}`, { cause: err });
  }
}

function record(
  deps: InvalidatorDeps,
  rt: Runtime,
  door: FlushDoor,
  action: string,
  handle: string,
  path: string,
  farms: string[],
  touched: number,
  deleted: number,
  ms: number,
  failure: AppError | undefined,
  at: number,
): void {
  deps.recent?.record({
    time: new Date(at).toISOString(),
    origin: rt.config.server.name,
    door,
    action,
    scope: undefined,
    handle,
    path,
    farms,
    touched,
    deleted,
    ms: Math.round(ms * 100) / 100,
    result: failure ? failure.message : 'ok',
  });
}
