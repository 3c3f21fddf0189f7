/**
 * The runtime: what one loaded config becomes (compiled farms, their docroot caches, render
 * clients). Built once per config; a reload builds a new one and swaps it in whole, so a request
 * finishes on the runtime it started with.
 */
import type { Config } from './config/index.js';
import { DocrootCache } from './cache/docroot-cache.js';
import type { HotLayer } from './cache/hot-layer.js';
import { compileFarm, type Farm } from './farms/farm.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { RenderClient } from './serve/render-client.js';

export interface Runtime {
  readonly config: Config;
  readonly farms: readonly Farm[];
  /** The docroot cache of a farm (farms sharing a docroot share one). */
  cacheFor(farm: Farm): DocrootCache;
  renderClientFor(farm: Farm): RenderClient;
  readonly log: Logger;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

export interface RuntimeDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly hot: HotLayer;
  /** Docroot caches outlive a reload when the docroot stays; pass the previous runtime's map. */
  readonly caches?: Map<string, DocrootCache>;
  readonly now?: () => number;
}

export async function createRuntime(deps: RuntimeDeps): Promise<Runtime> {
  const { config, log, metrics } = deps;
  const farms = config.farms.map(compileFarm);
  const caches = new Map<string, DocrootCache>();
  const byFarm = new Map<string, DocrootCache>();
  const renders = new Map<string, RenderClient>();
  for (const farm of farms) {
    let cache = caches.get(farm.docroot) ?? deps.caches?.get(farm.docroot);
    if (!cache) {
      cache = await DocrootCache.open(farm.docroot, {
        hot: deps.hot,
        ...(deps.now ? { now: deps.now } : {}),
        onError: (op, docPath, err) => {
          metrics.cacheWriteErrors.inc({ farm: farm.name });
          log.warn({ farm: farm.name, op, path: docPath, err: (err as Error).message }, 'cache i/o failed');
        },
      });
      const opened = cache;
      void opened.sweepTempFiles().then(
        (n) => n > 0 && log.warn({ docroot: opened.docroot, removed: n }, 'removed temporary files left by a crash'),
        (err: Error) => log.warn({ docroot: opened.docroot, err: err.message }, 'temporary file sweep failed'),
      );
    }
    caches.set(farm.docroot, cache);
    byFarm.set(farm.name, cache);
    renders.set(farm.name, new RenderClient(farm.config.renders, farm.config.retryDelayMs));
  }
  return {
    config,
    farms,
    log,
    metrics,
    cacheFor: (farm) => byFarm.get(farm.name)!,
    renderClientFor: (farm) => renders.get(farm.name)!,
    caches,
    async close() {
      await Promise.all([...renders.values()].map((r) => r.close()));
    },
  } as Runtime & { caches: Map<string, DocrootCache> };
}
