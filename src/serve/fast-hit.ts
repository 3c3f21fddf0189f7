/**
 * The HIT fast path: a request whose answer is a fresh cached file already in memory, served
 * synchronously with no disk access, no promise and no per-request header building.
 *
 * Everything a hit decides before looking at the cache (farm by Host, document path, internal
 * names, filter, cacheable?) is a pure function of the runtime and (method, Host, URL): the route
 * of serve/route.ts, which the full path uses too. It is computed once per distinct request line
 * and kept in a bounded map per runtime (a reload starts a new one). What can differ between two requests
 * with the same line is checked on every request: Authorization and auth cookies, the hot-layer
 * entry (re-checked against the disk every statCheckIntervalMs), the `.stat` times and the
 * freshness. Anything else (a miss, a stale file, a disk check due, a body streamed from disk)
 * returns false and the full path in handler.ts answers, exactly as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasAuthCookie } from '../cache/policy.js';
import { freshness } from '../cache/stat-files.js';
import type { CacheStore, StatLookup } from '../cache/store.js';
import type { Farm } from '../farms/farm.js';
import type { Runtime } from '../runtime.js';
import { routeRequest } from './route.js';
import { sendAccel, sendCached } from './send.js';

export interface HitRoute {
  readonly farm: Farm;
  readonly cache: CacheStore;
  readonly docPath: string;
  readonly stats: StatLookup;
  readonly invalidates: boolean;
  readonly allowAuthorized: boolean;
  readonly interval: number;
  readonly gracePeriodMs: number;
  readonly enableTTL: boolean;
  /** `server.accelRedirect.prefix` + `/farm` + docPath, when accelRedirect is on */
  readonly accelTarget: string | undefined;
}

const kTrusted = Symbol('farmgate.trustedPeer');
type TrustMemo = { rt: Runtime; trusted: boolean };

/** Is the TCP peer a trusted proxy? Asked once per connection and runtime. */
function trustedPeer(req: IncomingMessage, rt: Runtime, isTrustedPeer: (rt: Runtime, peer: string) => boolean): boolean {
  const socket = req.socket as IncomingMessage['socket'] & { [kTrusted]?: TrustMemo };
  const memo = socket[kTrusted];
  if (memo && memo.rt === rt) return memo.trusted;
  const a = socket.remoteAddress ?? '';
  const trusted = isTrustedPeer(rt, a.startsWith('::ffff:') ? a.slice(7) : a);
  socket[kTrusted] = { rt, trusted };
  return trusted;
}

/** Distinct request lines remembered per runtime; the map is emptied when full. */
const MAX_ROUTES = 10_000;
const routesByRuntime = new WeakMap<Runtime, Map<string, HitRoute | null>>();

/** The cacheable route of a request line, or null when it is not one (PASS, 404, 400 ...). */
export function hitRoute(rt: Runtime, method: string, host: string | undefined, url: string): HitRoute | null {
  let routes = routesByRuntime.get(rt);
  if (!routes) routesByRuntime.set(rt, (routes = new Map()));
  const key = `${method}\n${host ?? ''}\n${url}`;
  let route = routes.get(key);
  if (route === undefined) {
    route = computeRoute(rt, method, host, url);
    if (routes.size >= MAX_ROUTES) routes.clear();
    routes.set(key, route);
  }
  return route;
}

/** The route of serve/route.ts, with what this runtime adds to a cacheable one. */
function computeRoute(rt: Runtime, method: string, host: string | undefined, url: string): HitRoute | null {
  if (method !== 'GET' && method !== 'HEAD') return null;
  // Credentials are checked per request (tryFastHit): the same line may come with or without.
  const route = routeRequest(rt.farms, { method, host, url, authorized: false });
  if (route.verdict !== 'cache') return null;
  const { farm, docPath, freshness: rule } = route;
  const cache = rt.cacheFor(farm);
  return {
    farm,
    cache,
    docPath,
    stats: cache.statLookup(docPath, rule.statfileslevel),
    invalidates: rule.invalidates,
    allowAuthorized: farm.config.cache.allowAuthorized,
    interval: rule.statCheckIntervalMs,
    gracePeriodMs: rule.gracePeriodMs,
    enableTTL: rule.enableTTL,
    accelTarget: rt.config.server.accelRedirect ? `${rt.config.server.accelRedirect.prefix}/${farm.name}${docPath}` : undefined,
  };
}

/**
 * Serves the request when it is a fresh HIT from memory; returns the route it served, or
 * undefined when the full path must answer (nothing has been written then).
 */
export function tryFastHit(
  req: IncomingMessage,
  res: ServerResponse,
  rt: Runtime,
  now: () => number,
  isTrustedPeer: (rt: Runtime, peer: string) => boolean,
): HitRoute | undefined {
  const h = req.headers;
  if (h.authorization !== undefined) return undefined;
  const route = hitRoute(rt, req.method ?? 'GET', h.host, req.url ?? '/');
  if (route === null) return undefined;
  if (!route.allowAuthorized && h.cookie !== undefined && hasAuthCookie(h.cookie)) return undefined;
  const entry = route.cache.peek(route.docPath, route.interval);
  if (!entry) return undefined;
  const accel = route.accelTarget !== undefined && h['x-farmgate-accel'] === '1' && trustedPeer(req, rt, isTrustedPeer);
  if (entry.body === undefined && req.method !== 'HEAD' && !accel) return undefined;
  const statMtime = route.cache.peekStat(route.stats, route.interval);
  if (statMtime === 'check') return undefined;
  const state = freshness({
    fileMtimeMs: entry.mtimeMs,
    statMtimeMs: statMtime,
    invalidates: route.invalidates,
    gracePeriodMs: route.gracePeriodMs,
    ttlExpiresMs: route.enableTTL ? entry.ttlExpiresMs : undefined,
    now: now(),
  });
  if (state !== 'fresh') return undefined;
  if (accel && sendAccel(res, entry, route.accelTarget!, route.docPath)) return route;
  if (entry.body === undefined && req.method !== 'HEAD') return undefined;
  void sendCached(res, entry, 'HIT');
  return route;
}
