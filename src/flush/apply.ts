/**
 * Applying a flush to the farms it was routed to: per farm, fence, list dir(H), plan, execute,
 * log the lines a Dispatcher user recognises and count. Then invalidate-and-refetch.
 * The steps of run-flush.ts, which every door goes through.
 */
import path from 'node:path';
import { AppError } from '../errors.js';
import type { FlushRoute } from '../farms/select.js';
import type { Runtime } from '../runtime.js';
import { executePlan } from './execute.js';
import type { FarmOutcome, FlushRequest, RefetchResult, Refetcher } from './types.js';
import { listingFolder, planFences, planFlush } from './plan.js';

export interface ApplyResult {
  readonly outcomes: FarmOutcome[];
  /** The first failure, if any farm failed; the others were still applied. */
  readonly failure: AppError | undefined;
}

/**
 * Applies a flush to each routed farm in turn, with one flush time `at` for all. A farm that
 * fails does not stop the others (each is idempotent; the caller answers 500 and the sender
 * retries).
 */
export async function applyFlush(
  rt: Runtime,
  flush: FlushRequest,
  routes: readonly FlushRoute[],
  at: number,
  /** The `action` label of farmgate_flushes_total (`cold` for a cold flush). */
  action = flush.action.toLowerCase(),
): Promise<ApplyResult> {
  const outcomes: FarmOutcome[] = [];
  let failure: AppError | undefined;
  for (const { farm, glob } of routes) {
    const started = performance.now();
    const cache = rt.cacheFor(farm);
    const log = rt.log.child({ farm: farm.name });
    try {
      // Fence before listing: a render in flight for anything this flush deletes (cached yet or
      // not) is never stored once it completes; it carries the page as it was before the flush.
      // The executor skips a folder it cannot reach as "outside the docroot"; a docroot that is
      // gone or not a folder must fail the flush (500) instead of a silent 200.
      await cache.checkDocroot();
      await cache.fence(planFences(flush.action, flush.handle));
      const listing = await cache.list(listingFolder(flush.handle));
      const plan = planFlush({
        statfileslevel: farm.config.cache.statfileslevel,
        action: flush.action,
        scope: flush.scope,
        handle: flush.handle,
        listing,
      });
      const done = await executePlan(cache, plan, at);
      const ms = round(performance.now() - started);
      // Dispatcher logs "Activation detected: action=Activate [/content/dam/logo.jpg]" and one
      // "Touched /mnt/var/www/html/.stat" per file (reference §1.5).
      for (const p of done.deleted) log.debug({ path: p, file: path.join(cache.docroot, p) }, 'deleted');
      for (const s of done.touched) log.debug({ stat: s, file: path.join(cache.docroot, s) }, 'touched .stat');
      for (const dir of done.refused) log.warn({ folder: dir }, 'not touching .stat: folder leaves the docroot');
      log.info(
        { handle: flush.handle, action: flush.action, scope: flush.scope, route: glob, touched: done.touched, deleted: done.deleted, ms },
        'flush applied',
      );
      rt.metrics.flushes.inc({ farm: farm.name, action, result: 'ok' });
      outcomes.push({ farm: farm.name, route: glob, deleted: done.deleted, touched: done.touched, refetch: [], ms });
    } catch (err) {
      const error = err instanceof AppError ? err : new AppError('FG_FLUSH_IO', (err as Error).message, { cause: err });
      failure ??= new AppError('FG_FLUSH_IO', `farm ${farm.name}: ${error.message}`, { cause: error });
      log.error({ handle: flush.handle, action: flush.action, err: error.message }, 'flush failed');
      rt.metrics.flushes.inc({ farm: farm.name, action, result: 'error' });
      outcomes.push({ farm: farm.name, route: glob, deleted: [], touched: [], error: error.message, refetch: [], ms: round(performance.now() - started) });
    }
  }
  return { outcomes, failure };
}

/**
 * Invalidate-and-refetch: "after the invalidation, and before the 200, each URI is fetched from
 * the farm's render and replaces its cached file atomically. A URI that cannot be fetched leaves
 * the flush applied" (contract section 4). Every routed farm refetches every URI, at most
 * `concurrency` at a time; results land in each outcome's `refetch`, in body order.
 */
export async function refetchAll(
  rt: Runtime,
  routes: readonly FlushRoute[],
  outcomes: readonly FarmOutcome[],
  uris: readonly string[],
  refetch: Refetcher,
  concurrency = 8,
): Promise<void> {
  const tasks: (() => Promise<void>)[] = [];
  routes.forEach(({ farm }, i) => {
    const outcome = outcomes[i]!;
    const results: RefetchResult[] = new Array(uris.length);
    outcome.refetch = results;
    uris.forEach((uri, j) => {
      tasks.push(async () => {
        let r: RefetchResult;
        try {
          r = await refetch(rt, farm, uri);
        } catch (err) {
          r = { uri, ok: false, error: (err as Error).message };
        }
        results[j] = r;
        if (r.ok) rt.log.debug({ farm: farm.name, uri, status: r.status }, 'refetched');
        else rt.log.warn({ farm: farm.name, uri, status: r.status, err: r.error }, 'refetch failed');
      });
    });
  });
  await runBounded(tasks, concurrency);
}

/** Runs tasks with at most `limit` in flight; tasks never reject (they catch their own errors). */
export async function runBounded(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), tasks.length) }, worker));
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
