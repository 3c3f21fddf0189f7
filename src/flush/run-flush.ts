/**
 * A flush is one operation, whichever door it came through (the flush endpoint, the admin API,
 * another server of the web farm, this server's cold flush): route → apply per farm → count →
 * record in the recent list → (local doors) record for the web farm → refetch. Every door gets the
 * same recording, metrics and refetch; the doors differ only in how a flush is routed and who
 * hears about it:
 *
 * | door          | routed by                  | published to the web farm | retried              |
 * |---------------|----------------------------|---------------------------|----------------------|
 * | `http`        | this server's flushRoutes  | yes, before the 200       | by the sender        |
 * | `admin`       | this server's flushRoutes  | yes                       | by the operator      |
 * | `api`,`webhook`| flushRoutes, within `farms`| yes                      | by the sender        |
 * | `propagation` | this server's flushRoutes  | never (it came from there)| here, with backoff   |
 * | `cold`        | every farm (root `.stat`)  | never (local knowledge)   | no                   |
 *
 * Throws nothing for an I/O failure: the result says so, and the door answers (500, a failed
 * event). Throws AppError for `flush.unrouted: reject` at a local door.
 */
import { AppError } from '../errors.js';
import { routeFlush, type FlushRoute } from '../farms/select.js';
import type { Runtime } from '../runtime.js';
import { applyFlush, refetchAll } from './apply.js';
import type { RecentFlushes } from './recent.js';
import { flushJson, type FlushResponseJson } from './respond.js';
import type { FarmOutcome, FlushAppliedEvent, FlushDoor, FlushRequest, RecentOutcome, Refetcher } from './types.js';

export interface FlushRunnerDeps {
  /** Fetches a URI into a farm's cache (serving path); used for invalidate-and-refetch. */
  readonly refetch: Refetcher;
  /** The last flushes applied here, for the admin page. */
  readonly recent: RecentFlushes;
  readonly now?: () => number;
  /** Refetches in flight at once (default 8). */
  readonly refetchConcurrency?: number;
  /**
   * Records a flush applied through a local door for the web farm; awaited before the answer
   * ("answered 200 only after it is applied locally and, with propagation on, durably
   * recorded"). A rejection → 503 FG_FLUSH_NOT_RECORDED.
   */
  readonly publish?: (event: FlushAppliedEvent) => Promise<void>;
}

export interface FlushSource {
  readonly door: FlushDoor;
  /** Who sent it, for the log: the client address, `admin`, the origin server, `cold`. */
  readonly client: string;
  /** The server that received the flush from the CMS (recent list); default this server. */
  readonly origin?: string;
  /** Why, for a cold flush (logged). */
  readonly reason?: string;
  /** Only these farms (an invalidation's `farms`); default every farm the routing key reaches. */
  readonly farms?: readonly string[];
}

/** Retries of a flush that failed (propagation: the sender cannot retry it for us). */
export interface FlushRetry {
  /** Waits between attempts. */
  readonly delaysMs: readonly number[];
  readonly sleep: (ms: number) => Promise<void>;
  /** Stop retrying (the server is stopping). */
  readonly shouldStop?: () => boolean;
}

export type FlushRun =
  | { readonly ok: true; readonly json: FlushResponseJson; readonly attempts: number }
  | { readonly ok: false; readonly error: AppError; readonly json: FlushResponseJson; readonly attempts: number };

export type RunFlush = (
  rt: Runtime | (() => Runtime),
  flush: FlushRequest,
  source: FlushSource,
  retry?: FlushRetry,
) => Promise<FlushRun>;

/** The one flush operation, bound to its collaborators (composed once in http/app.ts). */
export function createFlushRunner(deps: FlushRunnerDeps): RunFlush {
  const now = deps.now ?? Date.now;

  return async function runFlush(runtime, flush, source, retry) {
    // Propagation reads the runtime per attempt, so a reload between attempts is honoured.
    const current = typeof runtime === 'function' ? runtime : () => runtime;
    let rt = current();
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
    const log = { door: source.door, client: source.client, handle: flush.handle, path: flush.routingKey, action: flush.action };
    const local = source.door !== 'propagation' && source.door !== 'cold';

    /** One line of the recent list, whatever became of the flush. */
    const remember = (at: number, outcome: RecentOutcome, status: number, result: string, outcomes: readonly FarmOutcome[], farms = outcomes.map((o) => o.farm)) =>
      deps.recent.record({
        time: new Date(at).toISOString(),
        origin: source.origin ?? rt.config.server.name,
        door: source.door,
        client: source.client,
        action: flush.action,
        scope: flush.scope,
        handle: flush.handle,
        path: flush.routingKey,
        farms,
        touched: outcomes.reduce((n, o) => n + o.touched.length, 0),
        deleted: outcomes.reduce((n, o) => n + o.deleted.length, 0),
        ms: elapsed(),
        outcome,
        status,
        result,
      });

    if (flush.action === 'Test') {
      // "`Test` does nothing and answers 200" (contract section 4): AEM's "Test Connection"
      // only looks at the status. The farms it would reach are listed; nothing is propagated.
      const routes = routesOf(rt, flush, source);
      rt.log.info({ ...log, farms: routes.map((r) => r.farm.name) }, 'flush test');
      remember(now(), 'test', 200, 'Test: nothing done', [], routes.map((r) => r.farm.name));
      return { ok: true, json: flushJson(flush, routes.map(emptyOutcome), false, elapsed()), attempts: 1 };
    }

    let routes = routesOf(rt, flush, source);
    if (routes.length === 0) {
      rt.metrics.flushUnrouted.inc();
      // Each server of a web farm routes by its own flushRoutes: an event for farms this server
      // does not have is normal there.
      rt.log[local ? 'warn' : 'info']({ ...log, unrouted: rt.config.flush.unrouted }, 'flush routed to no farm');
      const reason = `no farm routes CQ-Path ${flush.routingKey}`;
      if (local && rt.config.flush.unrouted === 'reject') {
        remember(now(), 'unrouted', 404, `${reason} (flush.unrouted: reject)`, []);
        throw new AppError('FG_FLUSH_UNROUTED', reason);
      }
      remember(now(), 'unrouted', 200, `${reason}: nothing done`, []);
      return { ok: true, json: flushJson(flush, [], true, elapsed()), attempts: 1 };
    }

    const action = source.door === 'cold' ? 'cold' : flush.action.toLowerCase();
    const delays = retry?.delaysMs ?? [];
    let attempts = 0;
    let at = now();
    let applied = await applyFlush(rt, flush, routes, at, action);
    for (attempts = 1; applied.failure && attempts <= delays.length; attempts++) {
      await retry!.sleep(delays[attempts - 1]!);
      if (retry!.shouldStop?.()) break;
      rt = current();
      routes = routesOf(rt, flush, source);
      // The receiver's own clock at each attempt: a page rendered here before it must go stale.
      at = now();
      applied = await applyFlush(rt, flush, routes, at, action);
    }
    rt.metrics.flushDuration.observe(elapsed() / 1000);
    if (source.door === 'cold') {
      rt.log.warn({ reason: source.reason, farms: applied.outcomes.map((o) => o.farm), failure: applied.failure?.message }, 'cold flush: touched the root .stat of every farm');
    }
    if (applied.failure) {
      remember(at, 'failed', applied.failure.status, applied.failure.message, applied.outcomes);
      return { ok: false, error: applied.failure, json: flushJson(flush, applied.outcomes, false, elapsed()), attempts };
    }

    if (local && deps.publish) {
      try {
        await deps.publish({ flush, at, farms: routes.map((r) => r.farm.name), ...(source.farms ? { only: source.farms } : {}) });
      } catch (err) {
        const error = new AppError('FG_FLUSH_NOT_RECORDED', `flush applied locally but not recorded: ${(err as Error).message}`, { cause: err });
        remember(at, 'failed', error.status, error.message, applied.outcomes);
        throw error;
      }
    }
    remember(at, 'applied', 200, 'ok', applied.outcomes);
    if (flush.refetch.length > 0) {
      await refetchAll(rt, routes, applied.outcomes, flush.refetch, deps.refetch, deps.refetchConcurrency ?? 8);
    }
    return { ok: true, json: flushJson(flush, applied.outcomes, false, elapsed()), attempts };
  };
}

/** A cold flush reaches every farm (farms sharing a docroot touch the same `.stat`, with one time). */
function routesOf(rt: Runtime, flush: FlushRequest, source: FlushSource): FlushRoute[] {
  if (source.door === 'cold') return rt.farms.map((farm) => ({ farm, glob: '*' }));
  const routes = routeFlush(rt.farms, flush.routingKey);
  const only = source.farms;
  return only ? routes.filter((r) => only.includes(r.farm.name)) : routes;
}

/** The cold flush as a flush: `Activate /` touches the root `.stat` and deletes nothing (plan.ts). */
export const COLD_FLUSH: FlushRequest = Object.freeze({ action: 'Activate', scope: undefined, handle: '/', routingKey: '/', refetch: [] });

function emptyOutcome(route: FlushRoute): FarmOutcome {
  return { farm: route.farm.name, route: route.glob, deleted: [], touched: [], refetch: [], ms: 0 };
}
