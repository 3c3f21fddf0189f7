/**
 * What the invalidation API and the webhooks hand to the flush machinery, and what comes back.
 * Types only; invalidation/run.ts composes the operation.
 */
import type { Runtime } from '../runtime.js';
import type { Invalidation } from './request.js';

export type InvalidationDoor = 'api' | 'webhook';

export interface InvalidationSource {
  readonly door: InvalidationDoor;
  /** The client address (api) or `webhook:<name>`. */
  readonly client: string;
}

/** One farm's share of an invalidation (contract section 4a: "JSON per farm (files deleted, `.stat` touched)"). */
export interface InvalidationFarmJson {
  readonly farm: string;
  /** Files deleted, by path flushes and by tags (document paths, sidecars not listed). */
  readonly deleted: readonly string[];
  /** `.stat` files touched by path flushes. */
  readonly touched: readonly string[];
  /** The paths this farm flushed (routed here by its flushRoutes). */
  readonly paths: readonly string[];
  /** Files that carried each tag here. */
  readonly tags: Readonly<Record<string, number>>;
}

export interface InvalidationJson {
  readonly action: Invalidation['action'];
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly farms: readonly InvalidationFarmJson[];
  /** Paths no farm routes (with `flush.unrouted: ignore`). */
  readonly unrouted: readonly string[];
  readonly ms: number;
}

/**
 * Applies an invalidation locally and, with propagation on, records it for the web farm before
 * resolving. Throws AppError: FG_FLUSH_UNROUTED (a path no farm routes, `flush.unrouted: reject`;
 * nothing done), FG_FLUSH_IO (a farm failed), FG_FLUSH_NOT_RECORDED (applied, not recorded).
 */
export type Invalidator = (rt: Runtime, invalidation: Invalidation, source: InvalidationSource) => Promise<InvalidationJson>;
