/**
 * THE route decision of a request: which farm, which document, may it be served, may it be
 * cached, and which rule decides its freshness. Pure: a function of the compiled farms and
 * (method, Host, raw URL, is it authorized); no disk, no clock.
 *
 *   farm by Host → document path → internal names → filter → cacheable → freshness rule
 *
 * Every consumer takes its answer from here: the full serving path (serve/handler.ts), the
 * in-memory fast path (serve/fast-hit.ts, which memoises it per request line), refetch,
 * `farmgate test-url`, and the front generator (src/front/), whose generated Lua code is
 * checked against this module by a differential test (test/front/differential.test.ts).
 * Two hand-written copies of a decision drift, and drift here is a security bug.
 */
import { isInternalName, toDocPath } from '../cache/doc-path.js';
import { hasAuthCookie, isCacheable, type Decision } from '../cache/policy.js';
import { statLookupOrder } from '../cache/stat-files.js';
import { AppError } from '../errors.js';
import type { Farm } from '../farms/farm.js';
import { filterInput } from '../farms/filter.js';
import { selectFarm } from '../farms/select.js';
import { decomposeSlingUrl, type SlingUrl } from '../farms/sling-url.js';

export interface RouteRequest {
  readonly method: string;
  /** The Host header as sent (port included), undefined when absent. */
  readonly host: string | undefined;
  /** The raw request target: path and query exactly as on the request line. */
  readonly url: string;
  /** An Authorization header, or a `login-token` / `authorization` cookie (see isAuthorized). */
  readonly authorized: boolean;
}

/** The verdicts, in the order they are decided; the first that applies ends the route. */
type RouteVerdict = 'no-farm' | 'bad-path' | 'internal' | 'filtered' | 'pass' | 'cache';

interface RouteBase {
  readonly method: string;
  readonly host: string | undefined;
  readonly url: string;
  /** The URL without its query string, still percent-encoded. */
  readonly rawPath: string;
  /** The raw query string without `?`; undefined when the URL has no `?`. */
  readonly query: string | undefined;
}

/** No farm's `virtualhosts` match the Host: 404, PASS. */
export interface NoFarmRoute extends RouteBase {
  readonly verdict: 'no-farm';
}

/** The path cannot name a document (traversal, encoded slash, `//`, control characters…): 400. */
export interface BadPathRoute extends RouteBase {
  readonly verdict: 'bad-path';
  readonly farm: Farm;
  readonly reason: string;
}

interface MappedRoute extends RouteBase {
  readonly farm: Farm;
  /** The decoded document path: the cached file is `docroot + docPath`. */
  readonly docPath: string;
  readonly sling: SlingUrl;
}

/** `.stat`, a `.h` / `.ttl` sidecar or a temporary file: 404. */
export interface InternalRoute extends MappedRoute {
  readonly verdict: 'internal';
}

/** Denied by the farm's filter: 404. `cacheable` is what the cache rules would have said. */
export interface FilteredRoute extends MappedRoute {
  readonly verdict: 'filtered';
  readonly cacheable: Decision;
}

/** Allowed but not cacheable (the reason is Dispatcher's wording): streamed to a render. */
export interface PassRoute extends MappedRoute {
  readonly verdict: 'pass';
  readonly reason: string;
}

/** How a cached file of this route goes stale (contract section 3). */
export interface FreshnessRule {
  /**
   * Folders (document paths, the docroot being `/`) whose `.stat` may govern the file, nearest
   * first: the first that exists decides.
   */
  readonly statDirs: readonly string[];
  readonly statfileslevel: number;
  /** Does `cache.invalidate` let a newer `.stat` make this file stale? */
  readonly invalidates: boolean;
  readonly gracePeriodMs: number;
  /** With enableTTL, the file's `.ttl` sidecar (its mtime is the expiry) also decides. */
  readonly enableTTL: boolean;
  readonly statCheckIntervalMs: number;
}

/** Cacheable: looked up in the cache at `docPath`, fresh or stale by `freshness`. */
export interface CacheRoute extends MappedRoute {
  readonly verdict: 'cache';
  readonly freshness: FreshnessRule;
}

export type Route = NoFarmRoute | BadPathRoute | InternalRoute | FilteredRoute | PassRoute | CacheRoute;
/** A route that has a farm. */
export type FarmRoute = Exclude<Route, NoFarmRoute>;

/** Does the request carry credentials that make it uncacheable unless `allowAuthorized`? */
export function isAuthorized(authorization: string | string[] | undefined, cookie: string | undefined): boolean {
  return authorization !== undefined || hasAuthCookie(cookie);
}

function base(req: Omit<RouteRequest, 'authorized'>): RouteBase {
  const q = req.url.indexOf('?');
  return {
    method: req.method,
    host: req.host,
    url: req.url,
    rawPath: q < 0 ? req.url : req.url.slice(0, q),
    query: q < 0 ? undefined : req.url.slice(q + 1),
  };
}

/** The route of a request: its farm chosen by Host among the farms, in file order. */
export function routeRequest(farms: readonly Farm[], req: RouteRequest): Route {
  const farm = selectFarm(farms, req.host);
  if (!farm) return { verdict: 'no-farm', ...base(req) };
  return routeInFarm(farm, req);
}

/** The route of a request in a given farm (refetch: the farm is the one a flush was routed to). */
export function routeInFarm(farm: Farm, req: Omit<RouteRequest, 'host'> & { host?: string | undefined }): FarmRoute {
  const b = base({ method: req.method, host: req.host, url: req.url });
  const mapped = toDocPath(b.rawPath);
  if (!mapped.ok) return { verdict: 'bad-path', ...b, farm, reason: mapped.reason };
  const docPath = mapped.docPath;
  const sling = decomposeSlingUrl(docPath);
  if (isInternalName(docPath)) return { verdict: 'internal', ...b, farm, docPath, sling };
  const c = farm.config.cache;
  const cacheable = isCacheable(
    { method: b.method, docPath, query: b.query, authorization: req.authorized, cookie: undefined },
    { allowAuthorized: c.allowAuthorized, ignoresParam: farm.ignoresParam, cacheAllows: farm.cacheAllows },
  );
  if (!farm.filter(filterInput(docPath, b.method, b.query))) {
    return { verdict: 'filtered', ...b, farm, docPath, sling, cacheable };
  }
  if (!cacheable.ok) return { verdict: 'pass', ...b, farm, docPath, sling, reason: cacheable.reason };
  return {
    verdict: 'cache',
    ...b,
    farm,
    docPath,
    sling,
    freshness: {
      statDirs: statLookupOrder(docPath, c.statfileslevel),
      statfileslevel: c.statfileslevel,
      invalidates: farm.invalidates(docPath),
      gracePeriodMs: c.gracePeriodMs,
      enableTTL: c.enableTTL,
      statCheckIntervalMs: c.statCheckIntervalMs,
    },
  };
}

/** The error a route refused before the cache is answered with, or undefined (pass, cache). */
export function refusalOf(route: Route): AppError | undefined {
  switch (route.verdict) {
    case 'no-farm':
      return new AppError('FG_NO_FARM', `no farm for host ${JSON.stringify(route.host ?? '')}`);
    case 'bad-path':
      return new AppError('FG_BAD_PATH', `bad request path: ${route.reason}`);
    case 'internal':
      return new AppError('FG_INTERNAL_FILE');
    case 'filtered':
      return new AppError('FG_FILTERED');
    default:
      return undefined;
  }
}
