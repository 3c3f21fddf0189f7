/**
 * The serving path: the product's hottest code, a plain node:http handler (no framework).
 *
 *   farm (Host) → document path → internal names → filter → cacheable?
 *     no  → PASS: streamed to a render and back
 *     yes → cached and fresh → HIT (from memory when hot)
 *           cached and stale → refetch (others get the stale copy meanwhile) → MISS | STALE
 *           not cached       → fill (others wait for it) → MISS
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { CachedFile, CacheStore } from '../cache/store.js';
import { freshness } from '../cache/stat-files.js';
import type { AppError } from '../errors.js';
import type { Farm } from '../farms/farm.js';
import type { Runtime } from '../runtime.js';
import { tryFastHit } from './fast-hit.js';
import { fill, InFlight, sendShared, type FillResult } from './fill.js';
import { tagHeaderPolicy } from '../tags/headers.js';
import { clientResponseHeaders, renderRequestHeaders } from './headers.js';
import type { RefetchResult } from '../flush/types.js';
import { isAuthorized, refusalOf, routeInFarm, routeRequest, type Route } from './route.js';
import { sendCached, sendError, toAppError, X_CACHE, type CacheStatus } from './send.js';

export interface ServeDeps {
  readonly getRuntime: () => Runtime;
  /** Is this TCP peer a trusted proxy? (its X-Forwarded-* headers are believed) */
  readonly isTrustedPeer: (rt: Runtime, peer: string) => boolean;
  readonly now?: () => number;
}

interface RequestLog {
  farm?: string;
  cache?: CacheStatus;
  renderMs?: number | undefined;
  /** Set when the request was refused before the cache (farmgate_requests_refused_total). */
  refused?: RefusalReason;
}

/** `reason` label of farmgate_requests_refused_total, by route verdict. */
export type RefusalReason = 'unknown-host' | 'bad-path' | 'internal' | 'filter' | 'url-too-long';
const REFUSAL_REASON = { 'no-farm': 'unknown-host', 'bad-path': 'bad-path', internal: 'internal', filtered: 'filter' } as const;

export function createServeHandler(deps: ServeDeps) {
  const now = deps.now ?? Date.now;
  const inFlight = new InFlight();

  function peerOf(req: IncomingMessage): string {
    const a = req.socket.remoteAddress ?? '';
    return a.startsWith('::ffff:') ? a.slice(7) : a;
  }

  async function serve(req: IncomingMessage, res: ServerResponse, rt: Runtime, log: RequestLog): Promise<void> {
    const url = req.url ?? '/';
    const route = routeRequest(rt.farms, {
      method: req.method ?? 'GET',
      host: req.headers.host,
      url,
      authorized: isAuthorized(req.headers.authorization, req.headers.cookie),
    });
    if (route.verdict === 'no-farm') return refuse(res, log, route);
    const farm = route.farm;
    log.farm = farm.name;
    if (route.verdict !== 'pass' && route.verdict !== 'cache') return refuse(res, log, route);
    const peer = peerOf(req);
    const peerTrusted = deps.isTrustedPeer(rt, peer);
    if (route.verdict === 'pass') return passThrough(req, res, rt, farm, url, peer, peerTrusted, log);
    const { docPath, freshness: rule } = route;

    const cache = rt.cacheFor(farm);
    const interval = rule.statCheckIntervalMs;
    const stats = cache.statLookup(docPath, rule.statfileslevel);
    const entry = cache.peek(docPath, interval) ?? (await cache.lookup(docPath, interval));
    if (entry) {
      let statMtime = cache.peekStat(stats, interval);
      if (statMtime === 'check') statMtime = await cache.readStat(stats, interval);
      const state = freshness({
        fileMtimeMs: entry.mtimeMs,
        statMtimeMs: statMtime,
        invalidates: rule.invalidates,
        gracePeriodMs: rule.gracePeriodMs,
        ttlExpiresMs: rule.enableTTL ? entry.ttlExpiresMs : undefined,
        now: now(),
      });
      if (state === 'fresh') {
        log.cache = 'HIT';
        return sendCached(res, entry, 'HIT');
      }
      const refetching = inFlight.get(cache, docPath);
      if (refetching && refetching.startedAt > invalidatedAt(cache, rule.invalidates, docPath, statMtime)) {
        log.cache = 'STALE';
        return sendCached(res, entry, 'STALE');
      }
    }
    if (!cache.writable) {
      // The docroot refuses writes (read-only, full): serve from the render, do not store.
      return passThrough(req, res, rt, farm, url, peer, peerTrusted, log);
    }
    let pending = inFlight.get(cache, docPath);
    if (pending) {
      // Join only a fill that started after the last flush of this file: an older one carries
      // the page as it was before the flush.
      let statMtime = cache.peekStat(stats, interval);
      if (statMtime === 'check') statMtime = await cache.readStat(stats, interval);
      pending = inFlight.get(cache, docPath);
      if (pending && pending.startedAt <= invalidatedAt(cache, rule.invalidates, docPath, statMtime)) pending = undefined;
    }
    if (pending) {
      const outcome = await pending.outcome;
      log.cache = 'MISS';
      if (outcome.kind === 'stored') {
        const stored = await cache.lookup(docPath, interval);
        if (stored) return sendCached(res, stored, 'MISS');
      } else if (outcome.kind === 'response') return sendShared(res, outcome);
      else if (outcome.kind === 'error') return sendError(res, outcome.error, 'MISS');
      // Nothing to share (not stored, not shareable): fetch on our own.
    }
    log.cache = 'MISS';
    const result = await runFill(rt, farm, docPath, url, req, res, entry, peer, peerTrusted);
    log.cache = result.cache;
    log.renderMs = result.renderMs;
  }

  function runFill(
    rt: Runtime,
    farm: Farm,
    docPath: string,
    renderPath: string,
    req: IncomingMessage | undefined,
    res: ServerResponse | undefined,
    stale: CachedFile | undefined,
    peer: string,
    peerTrusted: boolean,
  ): Promise<FillResult> {
    const headers = renderRequestHeaders(req?.headers ?? { host: canonicalHost(farm) }, {
      peer,
      peerTrusted,
      cacheFill: true,
      clientHeaders: farm.clientHeaders,
    });
    const startedAt = now();
    return inFlight.run(rt.cacheFor(farm), docPath, startedAt, () =>
      fill({ rt, farm, docPath, renderPath, headers, stale, res, headOnly: req?.method === 'HEAD', now, startedAt }),
    );
  }

  /** Refused before the cache: 400/404 with `X-Cache: PASS`, counted as refused, not as a pass. */
  function refuse(res: ServerResponse, log: RequestLog, route: Route & { verdict: keyof typeof REFUSAL_REASON }): void {
    log.cache = 'PASS';
    log.refused = REFUSAL_REASON[route.verdict];
    sendError(res, refusalOf(route)!, 'PASS');
  }

  /** Not cacheable: the request streams to a render and the answer streams back. */
  async function passThrough(
    req: IncomingMessage,
    res: ServerResponse,
    rt: Runtime,
    farm: Farm,
    url: string,
    peer: string,
    peerTrusted: boolean,
    log: RequestLog,
  ): Promise<void> {
    log.cache = 'PASS';
    const method = req.method ?? 'GET';
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const started = now();
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    let response;
    try {
      response = await rt.renderClientFor(farm).request({
        method,
        path: url,
        headers: renderRequestHeaders(req.headers, { peer, peerTrusted, cacheFill: false, clientHeaders: farm.clientHeaders }),
        body: hasBody && method !== 'GET' && method !== 'HEAD' ? req : undefined,
        signal: abort.signal,
      });
    } catch (err) {
      if (abort.signal.aborted) return;
      const error = toAppError(err);
      rt.metrics.renderRequests.inc({
        farm: farm.name,
        outcome: error.code === 'FG_RENDER_TIMEOUT' ? 'timeout' : error.code === 'FG_RENDER_UNREACHABLE' ? 'unreachable' : 'error',
      });
      return sendError(res, error, 'PASS');
    }
    log.renderMs = now() - started;
    rt.metrics.renderRequests.inc({ farm: farm.name, outcome: response.statusCode < 500 ? 'ok' : 'error' });
    const headers = clientResponseHeaders(response.headers, { stripAccel: rt.config.server.accelRedirect !== undefined, hide: tagHeaderPolicy(farm.config.cache).hidden });
    headers[X_CACHE] = 'PASS';
    res.writeHead(response.statusCode, headers);
    try {
      await pipeline(response.body, res);
    } catch {
      res.destroy();
    }
  }

  /** `farmgate_requests_total{farm,cache}` children, resolved once per label pair. */
  const counters = new WeakMap<Runtime['metrics'], Map<string, { inc(): void }>>();
  function countRequest(rt: Runtime, farm: string, cache: string): void {
    let byKey = counters.get(rt.metrics);
    if (!byKey) counters.set(rt.metrics, (byKey = new Map()));
    const key = `${farm}\n${cache}`;
    let c = byKey.get(key);
    if (!c) byKey.set(key, (c = rt.metrics.requests.labels({ farm, cache })));
    c.inc();
  }

  /** The request handler: one log line and one metric per request. */
  function handle(req: IncomingMessage, res: ServerResponse): void {
    const rt = deps.getRuntime();
    const started = performance.now();
    const hit = tryFastHit(req, res, rt, now, deps.isTrustedPeer);
    if (hit) {
      countRequest(rt, hit.farm.name, 'hit');
      if (rt.log.isLevelEnabled('info')) {
        const line = { farm: hit.farm.name, cache: 'HIT', status: res.statusCode, method: req.method, url: req.url, renderMs: undefined };
        res.once('close', () => rt.log.info({ ...line, ms: Math.round((performance.now() - started) * 100) / 100 }, 'request'));
      }
      return;
    }
    const log: RequestLog = {};
    const done = () => {
      const cache = log.cache ?? (res.getHeader(X_CACHE) as CacheStatus | undefined) ?? 'PASS';
      if (log.refused) rt.metrics.requestsRefused.inc({ farm: log.farm ?? '', reason: log.refused });
      else countRequest(rt, log.farm ?? '', cache.toLowerCase());
      if (!rt.log.isLevelEnabled('info')) return;
      rt.log.info(
        {
          farm: log.farm,
          cache,
          status: res.statusCode,
          method: req.method,
          url: req.url,
          renderMs: log.renderMs,
          ms: Math.round((performance.now() - started) * 100) / 100,
        },
        'request',
      );
    };
    res.once('close', done);
    serve(req, res, rt, log).catch((err: unknown) => {
      rt.log.error({ err, url: req.url }, 'serve failed');
      sendError(res, toAppError(err), log.cache ?? 'PASS');
    });
  }

  /** Fetch a URI into the cache now, as a flush's refetch or a warm-up does. */
  async function refetch(rt: Runtime, farm: Farm, uri: string): Promise<RefetchResult> {
    const route = routeInFarm(farm, { method: 'GET', url: uri, authorized: false });
    if (route.verdict === 'bad-path') return { uri, ok: false, error: route.reason };
    if (route.verdict === 'internal') return { uri, ok: false, error: 'not cacheable: internal file' };
    // A refetch is the flush agent's own request to the render: the client filter does not apply.
    const cacheable = route.verdict === 'filtered' ? route.cacheable : route.verdict === 'pass' ? { ok: false as const, reason: route.reason } : { ok: true as const };
    if (!cacheable.ok) return { uri, ok: false, error: `not cacheable: ${cacheable.reason}` };
    const docPath = route.docPath;
    const cache = rt.cacheFor(farm);
    const pending = inFlight.get(cache, docPath);
    if (pending) await pending.outcome;
    // The flush that ordered this refetch deleted (fenced) the page and touched its `.stat` a
    // moment ago, maybe in this very millisecond: a render stamped with that millisecond would be
    // refused by the fence, or stored already stale (equal times count as older). It starts in the
    // next one. (Never stamped later than it really starts: a flush landing meanwhile must win.)
    const c = farm.config.cache;
    const statMtime = await cache.readStat(cache.statLookup(docPath, c.statfileslevel), c.statCheckIntervalMs);
    await clockPast(now, invalidatedAt(cache, farm.invalidates(docPath), docPath, statMtime));
    const r = await runFill(rt, farm, docPath, uri, undefined, undefined, undefined, '127.0.0.1', true);
    if (r.outcome.kind === 'stored') return { uri, ok: true, status: r.status };
    if (r.outcome.kind === 'error') return { uri, ok: false, status: r.status, error: r.outcome.error.message };
    return { uri, ok: false, status: r.status, error: `render answered ${r.status}; not stored` };
  }

  return { handle, refetch, inFlight };
}

/** The farm's first virtualhost without wildcards: the Host of fills no client asked for. */
function canonicalHost(farm: Farm): string {
  return farm.config.virtualhosts.find((v) => !/[*?[\]{}]/.test(v)) ?? 'localhost';
}

/**
 * Resolves once the clock reads later than `t` (at most a millisecond on a real clock). A clock
 * that stands still (a test's manual clock) is waited for 50 ms at most; the store then decides.
 */
async function clockPast(now: () => number, t: number): Promise<void> {
  for (let i = 0; now() <= t && i < 50; i++) await new Promise((r) => setTimeout(r, 1));
}

/**
 * When this document was last invalidated: deleted by a flush, or (when `cache.invalidate`
 * allows it) its nearest `.stat` touched. 0 when never.
 */
function invalidatedAt(cache: CacheStore, invalidates: boolean, docPath: string, statMtime: number | undefined): number {
  return Math.max(cache.lastDeleted(docPath), invalidates ? (statMtime ?? 0) : 0);
}
