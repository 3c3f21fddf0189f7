/**
 * The runtime: what one loaded config becomes (compiled farms, their cache stores, render
 * clients). Built once per config; a reload builds a new one and swaps it in whole, so a request
 * finishes on the runtime it started with.
 */
import type { Config } from './config/index.js';
import { FsStore } from './cache/fs-store.js';
import type { HotLayer } from './cache/hot-layer.js';
import fs from 'node:fs/promises';
import type { CacheStore, StoreObserver } from './cache/store.js';
import { compileFarm, type Farm } from './farms/farm.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { compileAddressList, type AddressMatcher } from './net/client-address.js';
import { RenderPool, type RenderClient } from './render/render-client.js';
import { tagObserver } from './tags/observer.js';
import { TagStore } from './tags/tag-store.js';

export interface Runtime {
  readonly config: Config;
  readonly farms: readonly Farm[];
  /** The cache store of a farm (farms sharing a docroot share one). */
  cacheFor(farm: Farm): CacheStore;
  /** Stores by docroot; a reload keeps those whose docroot stays. */
  readonly stores: ReadonlyMap<string, CacheStore>;
  /** The tag index of a farm's docroot (contract section 4a; farms sharing a docroot share one). */
  tagsFor(farm: Farm): TagStore;
  /** Tag indexes by docroot, kept across reloads with their stores. */
  readonly tagIndexes: ReadonlyMap<string, TagStore>;
  renderClientFor(farm: Farm): RenderClient;
  /** The config's address lists, compiled once. */
  readonly access: {
    /** `server.trustedProxies`: peers whose X-Forwarded-For is believed. */
    readonly trusted: AddressMatcher;
    /** `flush.allowedClients`: who may flush. */
    readonly allowed: AddressMatcher;
  };
  readonly log: Logger;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

export interface RuntimeDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly hot: HotLayer;
  /** Stores outlive a reload when the docroot stays; pass the previous runtime's map. */
  readonly stores?: ReadonlyMap<string, CacheStore>;
  /** The previous runtime's tag indexes (they go with the stores). */
  readonly tagIndexes?: ReadonlyMap<string, TagStore>;
  readonly now?: () => number;
  /**
   * Opens the store of a docroot (default: the file-system store); tests pass a fake. The store
   * tells `observer` (the docroot's tag index) about every file it stores and removes.
   */
  readonly openStore?: (docroot: string, farm: Farm, observer: StoreObserver) => Promise<CacheStore>;
  /** Opens the tag index of a docroot (default: persisted in `server.stateDir`). */
  readonly openTagIndex?: (docroot: string) => Promise<TagStore>;
  /** The render client of a farm (default: undici pools); tests pass a fake. */
  readonly renderClient?: (farm: Farm) => RenderClient;
}

export async function createRuntime(deps: RuntimeDeps): Promise<Runtime> {
  const { config, log, metrics } = deps;
  const farms = config.farms.map(compileFarm);
  const stores = new Map<string, CacheStore>();
  const tagIndexes = new Map<string, TagStore>();
  const byFarm = new Map<string, CacheStore>();
  const renders = new Map<string, RenderClient>();
  const openStore = deps.openStore ?? ((docroot: string, farm: Farm, observer: StoreObserver) => openFsStore(docroot, farm, observer, deps));
  const openTagIndex = deps.openTagIndex ?? ((docroot: string) => openTagStore(docroot, config.server.stateDir, log));
  for (const farm of farms) {
    const kept = deps.stores?.get(farm.docroot);
    const tags = tagIndexes.get(farm.docroot) ?? (kept && deps.tagIndexes?.get(farm.docroot)) ?? (await openTagIndex(farm.docroot));
    const store = stores.get(farm.docroot) ?? kept ?? (await openStore(farm.docroot, farm, tagObserver(tags)));
    stores.set(farm.docroot, store);
    tagIndexes.set(farm.docroot, tags);
    byFarm.set(farm.name, store);
    renders.set(farm.name, deps.renderClient?.(farm) ?? new RenderPool(farm.config.renders, farm.config.retryDelayMs));
  }
  return {
    config,
    farms,
    log,
    metrics,
    stores,
    tagIndexes,
    access: {
      trusted: compileAddressList(config.server.trustedProxies),
      allowed: compileAddressList(config.flush.allowedClients),
    },
    cacheFor: (farm) => byFarm.get(farm.name)!,
    tagsFor: (farm) => tagIndexes.get(farm.docroot)!,
    renderClientFor: (farm) => renders.get(farm.name)!,
    async close() {
      await Promise.all([...renders.values()].map((r) => r.close()));
    },
  };
}

/** The file-system store of a docroot, with the crash sweep started in the background. */
async function openFsStore(docroot: string, farm: Farm, observer: StoreObserver, deps: RuntimeDeps): Promise<CacheStore> {
  const { log, metrics } = deps;
  const store = await FsStore.open(docroot, {
    hot: deps.hot,
    observer,
    ...(deps.now ? { now: deps.now } : {}),
    onError: (op, docPath, err) => {
      metrics.cacheWriteErrors.inc({ farm: farm.name });
      log.warn({ farm: farm.name, op, path: docPath, err: (err as Error).message }, 'cache i/o failed');
    },
  });
  void store.sweepTempFiles().then(
    (n) => n > 0 && log.warn({ docroot: store.docroot, removed: n }, 'removed temporary files left by a crash'),
    (err: Error) => log.warn({ docroot: store.docroot, err: err.message }, 'temporary file sweep failed'),
  );
  return store;
}

/** The persisted tag index of a docroot (tags/tag-store.ts), keyed by its real path. */
async function openTagStore(docroot: string, stateDir: string, log: Logger): Promise<TagStore> {
  await fs.mkdir(docroot, { recursive: true });
  return TagStore.open({ stateDir, realDocroot: await fs.realpath(docroot), log });
}
