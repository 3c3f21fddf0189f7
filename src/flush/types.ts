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

/** One line of the recent-flushes list (admin page, `/admin/api/flushes`). */
export interface RecentFlush {
  readonly time: string;
  /** The server that received the flush from the CMS (this one for local flushes). */
  readonly origin: string;
  readonly door: FlushDoor;
  readonly action: string;
  readonly scope: string | undefined;
  readonly handle: string;
  readonly path: string;
  readonly farms: readonly string[];
  /** `.stat` files touched and files deleted. */
  readonly touched: number;
  readonly deleted: number;
  readonly ms: number;
  /** `ok`, or the error that made it fail. */
  readonly result: string;
}
