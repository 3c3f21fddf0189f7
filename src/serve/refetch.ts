/**
 * Fetch a URI from its farm's render into the cache now (invalidate-and-refetch flushes, warming).
 * Implemented by the serving path (serve/handler.ts) so both share one fetch-and-store.
 */
import type { Farm } from '../farms/farm.js';
import type { Runtime } from '../runtime.js';

export interface RefetchResult {
  readonly uri: string;
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

export type Refetcher = (rt: Runtime, farm: Farm, uri: string) => Promise<RefetchResult>;
