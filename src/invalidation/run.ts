/**
 * An invalidation (API or webhook) as flushes: "A path acts like a flush whose handle is that
 * path (its farm(s) chosen by `flushRoutes`, `.stat` files touched as section 4 says); a tag
 * deletes every cached file that carries it (in the given farms), with its sidecars, and touches
 * no `.stat`" (contract section 4a). Each path goes through the flush machinery (the same apply,
 * metrics, recent list and web-farm recording as a flush from AEM); tags through run-tags.ts,
 * counted, listed and recorded the same way (action label `tag`).
 *
 * Order: every path is routed first, so `flush.unrouted: reject` refuses before anything is done;
 * then paths, then tags; then the 200. A farm that fails does not stop the others; the first
 * failure is answered (500) once everything else was applied, and a retry is harmless.
 */
import { AppError } from '../errors.js';
import { routeFlush } from '../farms/select.js';
import type { RunFlush } from '../flush/run-flush.js';
import type { FlushRequest } from '../flush/types.js';
import type { RunTags } from './run-tags.js';
import type { InvalidationFarmJson, InvalidationJson, Invalidator } from './types.js';

export interface InvalidatorDeps {
  /** The flush operation (flush/run-flush.ts): each path goes through it, recorded and published as a flush. */
  readonly runFlush: RunFlush;
  /** The tag operation (run-tags.ts): tags go through it, recorded and published the same way. */
  readonly runTags: RunTags;
}

interface FarmAcc {
  deleted: Set<string>;
  touched: Set<string>;
  paths: string[];
  tags: Record<string, number>;
}

export function createInvalidator(deps: InvalidatorDeps): Invalidator {
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
      const run = await deps.runTags(rt, { tags: inv.tags, action: inv.action, farms: inv.farms }, { door: source.door, client: source.client });
      for (const f of run.farms) {
        const a = farmAcc(f.farm);
        f.deleted.forEach((d) => a.deleted.add(d));
        Object.assign(a.tags, f.byTag);
      }
      if (!run.ok) failure ??= run.error;
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

