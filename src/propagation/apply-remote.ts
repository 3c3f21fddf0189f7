/**
 * Applying an event received from another server, through the same route → plan → execute
 * steps as a local flush (`routeFlush` + `applyFlush`, then `refetchAll`), routed by this
 * server's own `flushRoutes`. It never calls the propagation hook, so an applied event is never
 * published again.
 *
 * A failing event (its farm's docroot unwritable or gone, a full disk) is retried with backoff, then
 * recorded as failed; the caller goes on with the next event. Neither AEM's strict FIFO (one
 * poison item blocks the queue) nor Umbraco's log-and-skip (peers §0 lesson 4).
 */
import { applyFlush, refetchAll } from '../flush/apply.js';
import { routeFlush } from '../farms/select.js';
import type { Runtime } from '../runtime.js';
import type { Refetcher } from '../serve/refetch.js';
import { toFlushRequest, type FlushEvent } from './event.js';


/**
 * Pure: the backoff schedule, exponential from `baseMs` by `factor`, capped at `maxMs`.
 *
 * @example backoffSchedule(3, 100, 4, 1500) // [100, 400, 1500]
 */
export function backoffSchedule(retries: number, baseMs: number, factor: number, maxMs: number): number[] {
  return Array.from({ length: Math.max(0, retries) }, (_, i) => Math.min(maxMs, Math.round(baseMs * factor ** i)));
}

/** Default waits between attempts: 4 attempts over about 2 s (100, 400, 1500 ms). */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = backoffSchedule(3, 100, 4, 1500);

export interface RemoteOutcome {
  readonly farms: string[];
  readonly attempts: number;
  /** The last error when every attempt failed. */
  readonly error: string | undefined;
}

/** One attempt: route, apply, refetch. Throws when any farm's flush failed. */
export async function applyRemoteOnce(rt: Runtime, event: FlushEvent, refetch: Refetcher, at: number): Promise<string[]> {
  const flush = toFlushRequest(event);
  const routes = routeFlush(rt.farms, flush.routingKey);
  if (routes.length === 0) return [];
  const applied = await applyFlush(rt, flush, routes, at);
  if (applied.failure) throw applied.failure;
  if (flush.refetch.length > 0) await refetchAll(rt, routes, applied.outcomes, flush.refetch, refetch);
  return routes.map((r) => r.farm.name);
}

/**
 * Applies with retries. `getRuntime` is read per attempt, so a config reload between attempts
 * is honoured. `sleep` is injectable so the schedule is testable without waiting.
 */
export async function applyRemote(opts: {
  getRuntime: () => Runtime;
  event: FlushEvent;
  refetch: Refetcher;
  retryDelaysMs: readonly number[];
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  shouldStop?: () => boolean;
}): Promise<RemoteOutcome> {
  let error: string | undefined;
  for (let attempt = 0; attempt <= opts.retryDelaysMs.length; attempt++) {
    if (attempt > 0) {
      await opts.sleep(opts.retryDelaysMs[attempt - 1]!);
      if (opts.shouldStop?.()) break;
    }
    try {
      // The receiver's own clock: a page rendered here before this moment must go stale, and
      // the origin's clock may be behind ours.
      const farms = await applyRemoteOnce(opts.getRuntime(), opts.event, opts.refetch, opts.now());
      return { farms, attempts: attempt + 1, error: undefined };
    } catch (err) {
      error = (err as Error).message;
    }
  }
  return { farms: [], attempts: opts.retryDelaysMs.length + 1, error };
}
