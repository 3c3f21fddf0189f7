/**
 * createApp(deps): the composition of the public and admin handlers around one swappable
 * Runtime. It never listens (tests and main.ts own the servers).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HotLayer } from '../cache/hot-layer.js';
import type { Config } from '../config/index.js';
import { AppError } from '../errors.js';
import { WEBHOOK_PREFIX } from '../config/invalidation-schema.js';
import { createFlushHandler } from '../flush/handler.js';
import { createInvalidationApiHandler } from '../invalidation/api.js';
import { createTagRunner } from '../invalidation/run-tags.js';
import { createInvalidator } from '../invalidation/run.js';
import { createWebhookHandler } from '../invalidation/webhooks/handler.js';
import { RecentFlushes } from '../flush/recent.js';
import { createFlushRunner } from '../flush/run-flush.js';
import type { Logger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics.js';
import type { Propagation, PropagationTuning } from '../propagation/index.js';
import { createRuntime, type Runtime } from '../runtime.js';
import { createServeHandler } from '../serve/handler.js';
import { sendError } from '../serve/send.js';

export interface AppDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
  /** Propagation timings (tests shorten them); used when `propagation.mode` is `redis`. */
  readonly propagation?: PropagationTuning;
}

export interface App {
  /** The public listener's request handler (pages and flushes). */
  readonly handlePublic: (req: IncomingMessage, res: ServerResponse) => void;
  /** The admin listener's request handler. */
  readonly handleAdmin: (req: IncomingMessage, res: ServerResponse) => void;
  runtime(): Runtime;
  /** Swaps in a new config; requests in flight finish on the runtime they started with. */
  reload(config: Config): Promise<void>;
  readonly metrics: Metrics;
  readonly hot: HotLayer;
  /** Web farm propagation; undefined when `propagation.mode` is `off`. */
  readonly propagation: Propagation | undefined;
  /** The last flushes applied here, newest first (admin page). */
  readonly recentFlushes: RecentFlushes;
  close(): Promise<void>;
}

export async function createApp(deps: AppDeps): Promise<App> {
  const metrics = deps.metrics ?? createMetrics({ defaultMetrics: true });
  const memory = deps.config.server.memory;
  const hot = new HotLayer(memory.maxBytes, memory.maxEntryBytes);
  let current = await createRuntime({ config: deps.config, log: deps.log, metrics, hot, ...(deps.now ? { now: deps.now } : {}) });
  const getRuntime = () => current;

  const serve = createServeHandler({
    getRuntime,
    isTrustedPeer: (rt, peer) => rt.access.trusted(peer),
    ...(deps.now ? { now: deps.now } : {}),
  });
  const recentFlushes = new RecentFlushes();
  // One flush operation for every door: the endpoint, the admin API, propagation, the cold flush.
  let propagation: Propagation | undefined;
  const runFlush = createFlushRunner({
    refetch: serve.refetch,
    recent: recentFlushes,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.config.propagation.mode === 'redis' ? { publish: (event) => propagation!.onApplied(event) } : {}),
  });
  // Tag invalidations: the same recording, metrics and web-farm events, for tags.
  const runTags = createTagRunner({
    recent: recentFlushes,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.config.propagation.mode === 'redis' ? { publish: (event) => propagation!.onTagsApplied(event) } : {}),
  });
  if (deps.config.propagation.mode === 'redis') {
    // ioredis is loaded only when propagation is on: ~17 MB of RSS otherwise (measured).
    const { createPropagation } = await import('../propagation/index.js');
    propagation = createPropagation({
      config: deps.config,
      log: deps.log,
      metrics,
      getRuntime,
      runFlush,
      runTags,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.propagation ? { tuning: deps.propagation } : {}),
    });
  }
  const flush = createFlushHandler({ getRuntime, runFlush, recent: recentFlushes, ...(deps.now ? { now: deps.now } : {}) });
  // The invalidation API and CMS webhooks: paths and tags through the same flush machinery.
  const invalidate = createInvalidator({ runFlush, runTags });
  const invalidationApi = createInvalidationApiHandler({ getRuntime, invalidate, recent: recentFlushes, ...(deps.now ? { now: deps.now } : {}) });
  const webhooks = createWebhookHandler({ getRuntime, invalidate, recent: recentFlushes, ...(deps.now ? { now: deps.now } : {}) });

  function handlePublic(req: IncomingMessage, res: ServerResponse): void {
    const rt = current;
    const url = req.url ?? '/';
    if (url.length > rt.config.server.limits.urlBytes) {
      rt.metrics.requestsRefused.inc({ farm: '', reason: 'url-too-long' });
      sendError(res, new AppError('FG_URL_TOO_LONG'), 'PASS');
      return;
    }
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (pathname === rt.config.flush.path) {
      flush(req, res).catch((err: unknown) => {
        rt.log.error({ err }, 'flush handler failed');
        sendError(res, err instanceof AppError ? err : new AppError('FG_FLUSH_IO', (err as Error).message), undefined);
      });
      return;
    }
    // Answered before farm selection, whatever the Host, never with X-Cache (contract section 4a).
    const endpoint = pathname === rt.config.invalidation.api?.path ? invalidationApi : pathname.startsWith(WEBHOOK_PREFIX) ? webhooks : undefined;
    if (endpoint) {
      endpoint(req, res).catch((err: unknown) => {
        rt.log.error({ err }, 'invalidation handler failed');
        sendError(res, err instanceof AppError ? err : new AppError('FG_FLUSH_IO', (err as Error).message), undefined);
      });
      return;
    }
    serve.handle(req, res);
  }

  // The admin route table (express, ~17 MB of RSS, measured) is loaded only for an admin
  // listener: at start when the config names one, else on the listener's first request.
  const withPropagation = propagation;
  let admin: Promise<(req: IncomingMessage, res: ServerResponse) => void> | undefined;
  const loadAdmin = () =>
    (admin ??= import('./admin.js').then(({ createAdminHandler }) =>
      createAdminHandler({
        getRuntime,
        metrics,
        runFlush,
        recentFlushes,
        ...(withPropagation ? { propagation: withPropagation, ready: () => withPropagation.ready() } : {}),
      }),
    ));
  if (deps.config.server.admin !== undefined) await loadAdmin();
  const handleAdmin = (req: IncomingMessage, res: ServerResponse): void => {
    loadAdmin().then(
      (h) => h(req, res),
      (err: unknown) => sendError(res, new AppError('FG_ADMIN_UNAVAILABLE', `admin listener unavailable: ${(err as Error).message}`), undefined),
    );
  };
  // Opens the outbox and joins the stream (briefly waiting for Redis; never failing without it).
  await propagation?.start();

  return {
    handlePublic,
    handleAdmin,
    runtime: getRuntime,
    metrics,
    hot,
    recentFlushes,
    propagation,
    async reload(config) {
      const previous = current;
      current = await createRuntime({
        config,
        log: deps.log,
        metrics,
        hot,
        stores: previous.stores,
        tagIndexes: previous.tagIndexes,
        ...(deps.now ? { now: deps.now } : {}),
      });
      // Let requests in flight on the old runtime finish before its pools close (and the tag
      // indexes of docroots no farm uses any more).
      const next = current;
      setTimeout(() => {
        void previous.close();
        for (const [docroot, tags] of previous.tagIndexes) if (!next.tagIndexes.has(docroot)) void tags.close();
      }, 30_000).unref();
    },
    async close() {
      await propagation?.stop();
      await current.close();
      // Saved with the `clean` marker: the next start loads them instead of rebuilding.
      await Promise.all([...current.tagIndexes.values()].map((t) => t.close()));
    },
  };
}
