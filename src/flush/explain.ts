/**
 * `farmgate explain`: a flush as a dry run, answering "why didn't my page update?". The same
 * routing and planner as a real flush, then a read-only look at each farm's docroot: which farms
 * and why (the glob that matched), the `.stat` files that would be touched, the files that would
 * be deleted, and how many cached files would go stale, with a sample. Changes nothing.
 *
 * A cached file goes stale when `cache.invalidate` allows it and its nearest `.stat` after the
 * flush is one the flush touched: "Any page which shares one of these .stat files as its nearest
 * .stat ancestor is now considered invalidated" (adobe/aem-dispatcher-experiments, statfileslevel).
 */
import { isInternalName } from '../cache/doc-path.js';
import type { Farm } from '../farms/farm.js';
import { routeFlush } from '../farms/select.js';
import { DocrootReader, join } from './docroot-reader.js';
import { statDocPath } from './execute.js';
import type { FlushAction, FlushScope } from './types.js';
import { listingFolder, planFlush, type FlushPlan } from './plan.js';

export interface ExplainInput {
  /** Validated handle (parseHandle). */
  readonly handle: string;
  /** Validated routing key; the handle when absent. */
  readonly routingKey?: string;
  readonly action: FlushAction;
  readonly scope: FlushScope;
}

export interface ExplainFarm {
  readonly farm: string;
  /** The `flushRoutes` glob that matched the routing key. */
  readonly route: string;
  readonly docroot: string;
  readonly statfileslevel: number;
  /** `.stat` files to touch, docroot first; `exists: false` = would be created. */
  readonly touches: { stat: string; exists: boolean }[];
  /** Existing files and folders that would be deleted; `files` counts a folder's contents. */
  readonly deletes: { docPath: string; kind: 'file' | 'folder' | 'link'; files: number }[];
  readonly stale: { count: number; sample: string[]; truncated: boolean };
}

export interface ExplainReport {
  readonly action: FlushAction;
  readonly scope: FlushScope;
  readonly handle: string;
  readonly routingKey: string;
  readonly farms: ExplainFarm[];
  /** Farms the routing key did not reach, with their globs. */
  readonly notRouted: { farm: string; flushRoutes: readonly string[] }[];
}

export const STALE_SAMPLE = 10;
/** Entries looked at per farm before the stale count is reported as a lower bound. */
export const WALK_CAP = 200_000;

export async function explainFlush(farms: readonly Farm[], input: ExplainInput): Promise<ExplainReport> {
  const routingKey = input.routingKey ?? input.handle;
  const routes = routeFlush(farms, routingKey);
  const routed = new Set(routes.map((r) => r.farm.name));
  const out: ExplainFarm[] = [];
  for (const { farm, glob } of routes) out.push(await explainFarm(farm, glob, input));
  return {
    action: input.action,
    scope: input.scope,
    handle: input.handle,
    routingKey,
    farms: out,
    notRouted: farms.filter((f) => !routed.has(f.name)).map((f) => ({ farm: f.name, flushRoutes: f.config.flushRoutes })),
  };
}

async function explainFarm(farm: Farm, route: string, input: ExplainInput): Promise<ExplainFarm> {
  const level = farm.config.cache.statfileslevel;
  const reader = await DocrootReader.open(farm.docroot);
  const listing = await reader.list(listingFolder(input.handle));
  const plan = planFlush({ statfileslevel: level, action: input.action, scope: input.scope, handle: input.handle, listing });

  const touches: ExplainFarm['touches'] = [];
  for (const dir of plan.statTouches) {
    touches.push({ stat: statDocPath(dir), exists: (await reader.kind(statDocPath(dir))) === 'file' });
  }
  const deletes: ExplainFarm['deletes'] = [];
  for (const d of plan.deletes) {
    const kind = await reader.kind(d.docPath);
    if (!kind) continue;
    deletes.push({ docPath: d.docPath, kind, files: kind === 'folder' ? await reader.countFiles(d.docPath) : 1 });
  }
  const stale = await staleAfter(reader, farm, plan, new Set(deletes.map((d) => d.docPath)));
  return { farm: farm.name, route, docroot: farm.docroot, statfileslevel: level, touches, deletes, stale };
}

/**
 * Walks the docroot read-only, keeping for each folder the folder of its governing `.stat`
 * (nearest existing one, after the touch, from the folder capped at statfileslevel upwards).
 * Only subtrees that can hold a stale file are entered: those governed by a touched `.stat` and
 * the folders on the way to a touched one. Cost follows the affected part of the cache.
 */
async function staleAfter(reader: DocrootReader, farm: Farm, plan: FlushPlan, deleted: ReadonlySet<string>): Promise<ExplainFarm['stale']> {
  const level = farm.config.cache.statfileslevel;
  const touched = new Set(plan.statTouches);
  const onTheWay = (dir: string) => plan.statTouches.some((t) => t === dir || dir === '/' || t.startsWith(dir + '/'));
  const result = { count: 0, sample: [] as string[], truncated: false };
  if (touched.size === 0) return result;
  let visited = 0;

  const walk = async (dir: string, depth: number, inherited: string | undefined): Promise<void> => {
    if (visited >= WALK_CAP) {
      result.truncated = true;
      return;
    }
    const entries = await reader.list(dir);
    visited += entries.length;
    let governing = inherited;
    if (depth <= level && (touched.has(dir) || entries.some((e) => e.name === '.stat' && e.isFile))) governing = dir;
    const governedByTouch = governing !== undefined && touched.has(governing);
    if (!governedByTouch && !onTheWay(dir)) return;
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const docPath = join(dir, e.name);
      if (deleted.has(docPath)) continue;
      if (e.isDirectory) await walk(docPath, depth + 1, governing);
      else if (e.isFile && governedByTouch && !isInternalName(docPath) && farm.invalidates(docPath)) {
        result.count++;
        if (result.sample.length < STALE_SAMPLE) result.sample.push(docPath);
      }
    }
  };
  await walk('/', 0, undefined);
  return result;
}
