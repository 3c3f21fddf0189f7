/**
 * The types every door of a flush shares (the HTTP endpoint, the admin API, propagation, the
 * cold flush) and the modules around it (propagation, the admin page, the serving path that
 * implements refetch). Types only.
 */
import type { Farm } from '../farms/farm.js';
import type { Runtime } from '../runtime.js';

export const FLUSH_ACTIONS = ['Activate', 'Deactivate', 'Delete', 'Test'] as const;
export type FlushAction = (typeof FLUSH_ACTIONS)[number];
export type FlushScope = 'ResourceOnly' | undefined;

/** A validated flush, whichever door it came through. */
export interface FlushRequest {
  readonly action: FlushAction;
  /** `ResourceOnly`: delete the handle's files, touch no `.stat`. */
  readonly scope: FlushScope;
  /** Decoded, validated, absolute; no trailing slash except the root `/`. */
  readonly handle: string;
  /** What `flushRoutes` globs are matched against (decoded and validated like the handle). */
  readonly routingKey: string;
  /** Invalidate-and-refetch URIs (path with optional query), only for Activate with a text/plain body. */
  readonly refetch: readonly string[];
}

/**
 * Where a flush came from: `http` the flush endpoint (a CMS flush agent), `admin` the admin
 * page or API, `api` / `webhook` a path of the invalidation API or of a CMS webhook,
 * `propagation` another server of the web farm, `cold` this server's own cold flush (it cannot
 * know which flushes it missed: the root `.stat` of every farm).
 */
export type FlushDoor = 'http' | 'admin' | 'api' | 'webhook' | 'propagation' | 'cold';

export interface RefetchResult {
  readonly uri: string;
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

/** Fetches a URI from its farm's render into the cache now; implemented by the serving path. */
export type Refetcher = (rt: Runtime, farm: Farm, uri: string) => Promise<RefetchResult>;

/** What one farm did with a flush. */
export interface FarmOutcome {
  readonly farm: string;
  /** The `flushRoutes` glob that sent the flush here (`*` for a cold flush). */
  readonly route: string;
  readonly deleted: string[];
  readonly touched: string[];
  /** Set when this farm's flush failed (I/O); the flush is then answered 500. */
  readonly error?: string;
  refetch: RefetchResult[];
  readonly ms: number;
}

/** What the propagation hook receives for every flush applied through a local door (never `Test`). */
export interface FlushAppliedEvent {
  readonly flush: FlushRequest;
  /** The flush time given to every `.stat` touched, ms since the epoch. */
  readonly at: number;
  readonly farms: readonly string[];
  /** The farms an invalidation was restricted to (its `farms`); other servers keep to them too. */
  readonly only?: readonly string[];
}

/**
 * What became of a flush, for the recent list: `applied`; `failed` (500, or 503 when applied but
 * not recorded for the web farm); `test` (CQ-Action Test: nothing done); `unrouted` (no farm
 * routes its CQ-Path: 200 and nothing done with `flush.unrouted: ignore`, 404 with `reject`);
 * `refused` before anything was done (403 client, 400 bad headers, 405, 413 too large, 408 slow
 * body, 401 bad signature). The ones a user looks for when a page did not update.
 */
export type RecentOutcome = 'applied' | 'failed' | 'test' | 'unrouted' | 'refused';

/** One line of the recent-flushes list (admin page, `/admin/api/flushes`). */
export interface RecentFlush {
  readonly time: string;
  /** The server that received the flush from the CMS (this one for local flushes). */
  readonly origin: string;
  readonly door: FlushDoor;
  /** Who sent it: the client address (local doors), `admin`, the origin server, `cold`. */
  readonly client: string;
  /** As sent when refused before it could be read (truncated), else the validated action. */
  readonly action: string;
  readonly scope: string | undefined;
  readonly handle: string;
  readonly path: string;
  readonly farms: readonly string[];
  /** `.stat` files touched and files deleted. */
  readonly touched: number;
  readonly deleted: number;
  readonly ms: number;
  readonly outcome: RecentOutcome;
  /** The status the sender got (propagated and cold flushes: 200 applied, 500 failed). */
  readonly status: number;
  /** `ok`, or why not: the error, the refusal, `no farm routes …`, `Test: nothing done`. */
  readonly result: string;
}
