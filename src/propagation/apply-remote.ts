/**
 * Applying an event received from another server: the flush operation itself (run-flush.ts,
 * door `propagation`), routed by this server's own `flushRoutes`. It is never published again.
 *
 * A failing event (its farm's docroot unwritable or gone, a full disk) is retried with backoff,
 * then recorded as failed; the caller goes on with the next event. Neither AEM's strict FIFO (one
 * poison item blocks the queue) nor Umbraco's log-and-skip (peers §0 lesson 4).
 */
import type { FlushRetry, RunFlush } from '../flush/run-flush.js';
import type { RunTags } from '../invalidation/run-tags.js';
import type { Runtime } from '../runtime.js';
import { isTagEvent, toFlushRequest, type PropagatedEvent } from './event.js';

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

/** Applies events through the flush operation; the runtime is read per attempt (a reload between attempts is honoured). */
export type ApplyEvent = (event: PropagatedEvent, retry: FlushRetry) => Promise<RemoteOutcome>;

/**
 * Flush events through the flush operation, tag events through the tag operation (run-tags.ts);
 * an event restricted to `farms` stays within those farms here too.
 */
export function eventApplier(runFlush: RunFlush, runTags: RunTags, getRuntime: () => Runtime): ApplyEvent {
  return async (event, retry) => {
    const source = { door: 'propagation' as const, client: event.origin, origin: event.origin, ...(event.farms ? { farms: event.farms } : {}) };
    try {
      if (isTagEvent(event)) {
        const run = await runTags(getRuntime, { tags: event.tags, action: event.action, farms: event.farms }, source, retry);
        return { farms: run.ok ? run.farms.map((f) => f.farm) : [], attempts: run.attempts, error: run.ok ? undefined : run.error.message };
      }
      const run = await runFlush(getRuntime, toFlushRequest(event), source, retry);
      const farms = run.json.farms.map((f) => f.farm);
      return { farms: run.ok ? farms : [], attempts: run.attempts, error: run.ok ? undefined : run.error.message };
    } catch (err) {
      return { farms: [], attempts: 1, error: (err as Error).message };
    }
  };
}
