/**
 * A resolved farm: its config plus every rule compiled once. Built from a frozen FarmConfig,
 * never changed; a config reload builds new farms.
 *
 * The compiled rules are exposed as data (`rules`, `hostMatchers`, `flushRoutes`: allow/deny
 * and per-key matchers, each with its anchored RegExp) as well as closures, so `farmgate front`
 * can write the same decisions for nginx/Apache (PCRE) that farmgate makes itself.
 */
import type { FarmConfig } from '../config/index.js';
import { compileFilter, type CompiledFilter } from './filter.js';
import { compileGlob, compilePathGlob, compilePathRules, compileValueRules, decide, type Matcher, type ValueRule } from './match.js';

export interface FarmRules {
  /** `filter`; `rules` undefined = no filter (allow all). */
  readonly filter: CompiledFilter;
  /** `cache.rules` on the decoded document path. */
  readonly cache: readonly ValueRule[];
  /** `cache.invalidate` on the decoded document path. */
  readonly invalidate: readonly ValueRule[];
  /** `cache.ignoreUrlParams` on decoded parameter names; allow = the parameter is ignored. */
  readonly ignoreUrlParams: readonly ValueRule[];
}

export interface Farm {
  readonly name: string;
  readonly config: FarmConfig;
  readonly docroot: string;
  readonly rules: FarmRules;
  /** The filter's verdict (`rules.filter.allows`). */
  readonly filter: CompiledFilter['allows'];
  /** `cache.rules`: may this document path be cached? */
  readonly cacheAllows: (docPath: string) => boolean;
  /** `cache.invalidate`: does a newer `.stat` make this cached file stale? */
  readonly invalidates: (docPath: string) => boolean;
  /** `cache.ignoreUrlParams`: allow = the parameter is ignored. */
  readonly ignoresParam: (name: string) => boolean;
  /** The first `flushRoutes` glob matching a CQ-Path, or undefined. */
  readonly flushRouteFor: (routingKey: string) => string | undefined;
  readonly flushRoutes: readonly { readonly glob: string; readonly matcher: Matcher }[];
  /** Lower-case names of the response headers stored in `.h` and replayed on hits. */
  readonly storedHeaders: ReadonlySet<string>;
  /** `clientHeaders`, lower-case: the request headers passed to the render; undefined = all (`"*"`). */
  readonly clientHeaders: ReadonlySet<string> | undefined;
  readonly hostMatchers: readonly HostMatcher[];
}

export interface HostMatcher {
  readonly glob: string;
  /** The host part, lower-cased and case-insensitive (regex flag `i`), without the port. */
  readonly host: Matcher;
  /** undefined = any port */
  readonly port: string | undefined;
}

/** Splits `host[:port]` (IPv6 in brackets) into a lower-case host and an optional port. */
export function splitHostPort(value: string): { host: string; port: string | undefined } {
  const v = value.trim().toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(v);
  if (!m) return { host: v, port: undefined };
  return { host: m[1] ?? '', port: m[2] || undefined };
}

export function compileFarm(config: FarmConfig): Farm {
  const filter = compileFilter(config.filter);
  const cacheRules = compilePathRules(config.cache.rules);
  const invalidateRules = compilePathRules(config.cache.invalidate);
  const paramRules = compileValueRules(config.cache.ignoreUrlParams);
  const routes = config.flushRoutes.map((glob) => ({ glob, matcher: compilePathGlob(glob) }));
  return Object.freeze({
    name: config.name,
    config,
    docroot: config.docroot,
    rules: Object.freeze({ filter, cache: cacheRules, invalidate: invalidateRules, ignoreUrlParams: paramRules }),
    filter: filter.allows,
    cacheAllows: (p: string) => decide(cacheRules, p),
    invalidates: (p: string) => decide(invalidateRules, p),
    ignoresParam: (name: string) => decide(paramRules, name),
    flushRouteFor: (key: string) => routes.find((r) => r.matcher.test(key))?.glob,
    flushRoutes: routes,
    storedHeaders: new Set(config.cache.headers.map((h) => h.toLowerCase())),
    clientHeaders: config.clientHeaders.includes('*') ? undefined : new Set(config.clientHeaders.map((h) => h.toLowerCase())),
    hostMatchers: config.virtualhosts.map((glob) => {
      const { host, port } = splitHostPort(glob);
      return { glob, host: compileGlob(host, { nocase: true }), port };
    }),
  });
}
