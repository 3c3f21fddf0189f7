/**
 * A resolved farm: its config plus every glob compiled once. Built from a frozen FarmConfig,
 * never changed; a config reload builds new farms.
 */
import type { FarmConfig } from '../config/index.js';
import { compileFilter, type CompiledFilter } from './filter.js';
import { compileGlob, compilePathGlob, compilePathRules, compileRules, decide, type Matcher } from './match.js';

export interface Farm {
  readonly name: string;
  readonly config: FarmConfig;
  readonly docroot: string;
  readonly filter: CompiledFilter;
  /** `cache.rules`: may this document path be cached? */
  readonly cacheAllows: (docPath: string) => boolean;
  /** `cache.invalidate`: does a newer `.stat` make this cached file stale? */
  readonly invalidates: (docPath: string) => boolean;
  /** `cache.ignoreUrlParams`: allow = the parameter is ignored. */
  readonly ignoresParam: (name: string) => boolean;
  /** The first `flushRoutes` glob matching a CQ-Path, or undefined. */
  readonly flushRouteFor: (routingKey: string) => string | undefined;
  /** Lower-case names of the response headers stored in `.h` and replayed on hits. */
  readonly storedHeaders: ReadonlySet<string>;
  readonly hostMatchers: readonly HostMatcher[];
}

export interface HostMatcher {
  readonly glob: string;
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
  const cacheRules = compilePathRules(config.cache.rules);
  const invalidateRules = compilePathRules(config.cache.invalidate);
  const paramRules = compileRules<string, string>(config.cache.ignoreUrlParams, (g) => compileGlob(g));
  const routes = config.flushRoutes.map((glob) => ({ glob, test: compilePathGlob(glob) }));
  return Object.freeze({
    name: config.name,
    config,
    docroot: config.docroot,
    filter: compileFilter(config.filter),
    cacheAllows: (p: string) => decide(cacheRules, p),
    invalidates: (p: string) => decide(invalidateRules, p),
    ignoresParam: (name: string) => decide(paramRules, name),
    flushRouteFor: (key: string) => routes.find((r) => r.test(key))?.glob,
    storedHeaders: new Set(config.cache.headers.map((h) => h.toLowerCase())),
    hostMatchers: config.virtualhosts.map((glob) => {
      const { host, port } = splitHostPort(glob);
      return { glob, host: compileGlob(host, { nocase: true }), port };
    }),
  });
}
