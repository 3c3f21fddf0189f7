/**
 * May a request be cached, may a response be stored, when does it expire. Pure decisions,
 * each quoting the rule it implements (contract section 3; Adobe KB "Which requests does AEM
 * Dispatcher cache?").
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface CacheableInput {
  readonly method: string;
  /** Decoded document path. */
  readonly docPath: string;
  /** Raw query string without `?`, undefined when none. */
  readonly query: string | undefined;
  readonly authorization: boolean;
  readonly cookie: string | undefined;
}

export interface CacheableFarm {
  readonly allowAuthorized: boolean;
  readonly ignoresParam: (name: string) => boolean;
  readonly cacheAllows: (docPath: string) => boolean;
}

export type Decision = { readonly ok: true } | { readonly ok: false; readonly reason: string };
const YES: Decision = Object.freeze({ ok: true });
const no = (reason: string): Decision => ({ ok: false, reason });

/** Names of the query parameters in a raw query string. */
export function queryParamNames(query: string): string[] {
  return query
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const name = p.split('=', 1)[0]!;
      try {
        return decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        return name;
      }
    });
}

/** Does a Cookie header carry a `login-token` or `authorization` cookie? */
export function hasAuthCookie(cookie: string | undefined): boolean {
  if (!cookie) return false;
  return cookie.split(';').some((c) => {
    const name = c.split('=', 1)[0]!.trim().toLowerCase();
    return name === 'login-token' || name === 'authorization';
  });
}

/**
 * Does the last path segment have an extension: a dot that is not its first character?
 * (contract section 3: the last path segment decides, so `/etc.clientlibs/site/base.min.css`,
 * `/content/dam/a.png/_jcr_content/renditions/web.1280.png` and
 * `/content/p/_jcr_content/image.coreimg.jpeg/1700000000/photo.jpeg` have one.)
 */
export function lastSegmentHasExtension(docPath: string): boolean {
  const segment = docPath.slice(docPath.lastIndexOf('/') + 1);
  return segment.indexOf('.') > 0;
}

/**
 * "A request is cacheable when: GET or HEAD; the last path segment has an extension (a dot that
 *  is not its first character) and the path has no trailing slash; no query string unless every
 *  parameter is ignored; no Authorization header and no login-token or authorization cookie
 *  unless allowAuthorized; cache.rules allow it." (contract section 3)
 * The reasons are Dispatcher's X-Cache-Info wording where it has one.
 */
export function isCacheable(req: CacheableInput, farm: CacheableFarm): Decision {
  if (req.method !== 'GET' && req.method !== 'HEAD') return no('request needed to be a GET or HEAD');
  if (req.docPath.endsWith('/')) return no('request URL has a trailing slash');
  if (!lastSegmentHasExtension(req.docPath)) return no('request URL is missing extension');
  if (req.query !== undefined && req.query !== '') {
    const names = queryParamNames(req.query);
    if (!names.every((n) => farm.ignoresParam(n))) return no('request contained a query string');
  }
  if (!farm.allowAuthorized && (req.authorization || hasAuthCookie(req.cookie))) {
    return no('request contains authorization');
  }
  if (!farm.cacheAllows(req.docPath)) return no('request URL is missing in cache rules');
  return YES;
}

export interface StorableInput {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Body length when known (Content-Length), else undefined; checked again after the body. */
  readonly bodyLength: number | undefined;
}

const NO_STORE_DIRECTIVES = ['no-cache', 'no-store', 'private', 'must-revalidate'];

function cacheControlDirectives(value: string | undefined): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  if (!value) return out;
  for (const part of value.split(',')) {
    const [k, v] = part.split('=', 2) as [string, string | undefined];
    const key = k.trim().toLowerCase();
    if (key) out.set(key, v?.trim().replace(/^"|"$/g, ''));
  }
  return out;
}

/** Is a `Dispatcher: no-cache` (or `no_cache`) header present? */
export function dispatcherNoCache(headers: IncomingHttpHeaders): boolean {
  const v = headers['dispatcher'];
  const s = (Array.isArray(v) ? v.join(',') : v ?? '').toLowerCase();
  return s.includes('no-cache') || s.includes('no_cache');
}

/**
 * "A response is stored when: status 200; body not empty; no Dispatcher: no-cache (or no_cache);
 *  no no-cache, no-store, private or must-revalidate in Cache-Control; no Set-Cookie."
 */
export function isStorable(res: StorableInput): Decision {
  if (res.status !== 200) return no(`status ${res.status}`);
  if (res.bodyLength === 0) return no('response content length is zero');
  if (dispatcherNoCache(res.headers)) return no('response contains no_cache');
  const cc = cacheControlDirectives(joinHeader(res.headers['cache-control']));
  const blocking = NO_STORE_DIRECTIVES.find((d) => cc.has(d));
  if (blocking) return no(`Cache-Control: ${blocking}`);
  if (res.headers['set-cookie'] !== undefined) return no('response sets a cookie');
  return YES;
}

function joinHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * With enableTTL: "the expiry comes from s-maxage, else max-age, else Expires; a response with
 * none of them gets no .ttl and is governed by .stat alone." Returns epoch ms or undefined.
 * `now` is the moment the render request started.
 */
export function ttlExpiry(headers: IncomingHttpHeaders, now: number): number | undefined {
  const cc = cacheControlDirectives(joinHeader(headers['cache-control']));
  for (const d of ['s-maxage', 'max-age']) {
    const v = cc.get(d);
    if (v !== undefined && /^\d+$/.test(v)) return now + Number(v) * 1000;
  }
  const expires = joinHeader(headers['expires']);
  if (expires) {
    // An invalid Expires ("0", "-1") means already expired (RFC 9111 §5.3). V8's Date.parse
    // reads "0" as the year 2000, so an HTTP-date must at least name its month.
    const t = /[a-z]{3}/i.test(expires) ? Date.parse(expires) : NaN;
    return Number.isNaN(t) ? now : t;
  }
  return undefined;
}
