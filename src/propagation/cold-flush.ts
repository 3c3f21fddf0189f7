/**
 * The cold flush: when a server cannot know which flushes it missed (its next events were
 * trimmed away by retention, or the stream was lost while it was away), it touches the root
 * `.stat` of every farm. Every cached file under `cache.invalidate` then counts as stale: the
 * same as a flush of `/`, cheap and idempotent (peers §5 item 1, Umbraco's cold boot without
 * the rebuild). Nothing is deleted.
 */
import type { Runtime } from '../runtime.js';

export async function coldFlush(rt: Runtime, at: number): Promise<{ farms: string[]; errors: string[] }> {
  const farms: string[] = [];
  const errors: string[] = [];
  const done = new Set<unknown>();
  for (const farm of rt.farms) {
    const cache = rt.cacheFor(farm);
    try {
      // Farms sharing a docroot share one cache: touch it once.
      if (!done.has(cache)) await cache.touchStat('/', at);
      done.add(cache);
      farms.push(farm.name);
      rt.metrics.flushes.inc({ farm: farm.name, action: 'cold', result: 'ok' });
    } catch (err) {
      errors.push(`${farm.name}: ${(err as Error).message}`);
      rt.metrics.flushes.inc({ farm: farm.name, action: 'cold', result: 'error' });
    }
  }
  return { farms, errors };
}
