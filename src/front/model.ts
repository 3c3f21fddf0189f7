/**
 * What the front servers need to know, as plain data: the farms' rules as PCRE patterns (each
 * compiled rule value's own anchored RegExp, farms/match.ts, translated by pcre.ts), the
 * freshness settings, farmgate's own limits and paths, the default content types. Pure: built
 * from a loaded Config with the same compileFarm farmgate uses; written to farmgate_config.lua.
 *
 * A rule the front cannot evaluate exactly (a regex outside the PCRE-safe subset of pcre.ts)
 * makes its farm undecidable: the front then hands every request of that farm to farmgate (and
 * `farmgate front` warns). A host pattern it cannot evaluate makes farm selection undecidable:
 * every request goes to farmgate.
 */
import mime from 'mime-types';
import { TMP_MARKER } from '../cache/doc-path.js';
import type { Config } from '../config/index.js';
import { compileFarm } from '../farms/farm.js';
import { FILTER_KEYS, type FilterKey } from '../farms/filter.js';
import type { Matcher, ValueRule } from '../farms/match.js';
import { SET_BY_FARMGATE } from '../header-names.js';
import { toPcre } from './pcre.js';

export interface FrontRule {
  readonly allow: boolean;
  /** any of these PCRE patterns */
  readonly re: readonly string[];
}

export interface FrontFilterRule {
  readonly allow: boolean;
  readonly match: Partial<Record<FilterKey, readonly string[]>>;
}

export interface FrontFarm {
  readonly name: string;
  readonly hosts: readonly { readonly re: readonly string[]; readonly port: string | undefined }[];
  /** absolute, as farmgate resolves it (no trailing slash) */
  readonly docroot: string;
  readonly statfileslevel: number;
  readonly cacheRules: readonly FrontRule[];
  readonly invalidate: readonly FrontRule[];
  readonly ignoreUrlParams: readonly FrontRule[];
  readonly filter: readonly FrontFilterRule[] | undefined;
  readonly allowAuthorized: boolean;
  readonly gracePeriodMs: number;
  readonly enableTTL: boolean;
  readonly statCheckIntervalMs: number;
  /** false: a rule could not be translated; every request of this farm goes to farmgate */
  readonly decidable: boolean;
}

export interface FrontModel {
  readonly farms: readonly FrontFarm[];
  readonly hostsDecidable: boolean;
  /** where farmgate listens (server.listen), as host:port to connect to */
  readonly upstream: string;
  /** request paths farmgate answers before choosing a farm (the flush endpoint) */
  readonly ownPaths: readonly string[];
  readonly urlBytes: number;
  /** requests whose header block may come near server.limits.headerBytes go to farmgate (431) */
  readonly headerBytes: number;
  readonly tmpMarker: string;
  /** extension (lower case) → farmgate's default Content-Type for it */
  readonly types: Readonly<Record<string, string>>;
  /** lower-case header names a hit never replays from `.h` (farmgate sets them itself) */
  readonly notReplayed: readonly string[];
  readonly warnings: readonly string[];
}

/** Where to connect to farmgate's public listener: a wildcard bind becomes loopback. */
export function upstreamOf(listen: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) return `127.0.0.1:${listen}`;
  const host = m[1] ?? m[2]!;
  if (host === '0.0.0.0' || host === '*' || host === '') return `127.0.0.1:${m[3]}`;
  if (host === '::') return `[::1]:${m[3]}`;
  return m[1] !== undefined ? `[${host}]:${m[3]}` : `${host}:${m[3]}`;
}

/** farmgate's default Content-Type per extension (serve/send.ts: mime.contentType(extname)). */
export function defaultTypes(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ext of Object.keys(mime.types)) {
    const type = mime.contentType('.' + ext);
    if (type) out[ext] = type;
  }
  return out;
}

export function buildModel(config: Config, opts: { upstream?: string } = {}): FrontModel {
  const warnings: string[] = [];
  let hostsDecidable = true;
  const farms = config.farms.map(compileFarm).map((farm): FrontFarm => {
    let decidable = true;
    const pcre = (m: Matcher, what: string): string[] => {
      const p = toPcre(m.regex, (why) => warnings.push(`farm ${farm.name}: ${what}: /${m.regex.source}/${m.regex.flags} cannot be evaluated by the front (${why}); its requests go to farmgate`));
      if (p !== undefined) return [p];
      decidable = false;
      return ['(?!)'];
    };
    const rules = (list: readonly ValueRule[], what: string): FrontRule[] => list.map((r, i) => ({ allow: r.allow, re: pcre(r.matcher, `${what}.${i}`) }));
    const hosts = farm.hostMatchers.map((m) => {
      const p = toPcre(m.host.regex, (why) => warnings.push(`farm ${farm.name}: virtualhost ${JSON.stringify(m.glob)} cannot be evaluated by the front (${why}); every request goes to farmgate`));
      if (p === undefined) hostsDecidable = false;
      return { re: [p ?? '(?!)'], port: m.port };
    });
    const filter = farm.rules.filter.rules?.map((rule, i): FrontFilterRule => {
      const match: Partial<Record<FilterKey, string[]>> = {};
      for (const key of FILTER_KEYS) {
        const m = rule.match[key];
        if (m) match[key] = pcre(m, `filter.${i}.${key}`);
      }
      return { allow: rule.allow, match };
    });
    const c = farm.config.cache;
    return {
      name: farm.name,
      hosts,
      docroot: farm.docroot,
      statfileslevel: c.statfileslevel,
      cacheRules: rules(farm.rules.cache, 'cache.rules'),
      invalidate: rules(farm.rules.invalidate, 'cache.invalidate'),
      ignoreUrlParams: rules(farm.rules.ignoreUrlParams, 'cache.ignoreUrlParams'),
      filter,
      allowAuthorized: c.allowAuthorized,
      gracePeriodMs: c.gracePeriodMs,
      enableTTL: c.enableTTL,
      statCheckIntervalMs: c.statCheckIntervalMs,
      decidable,
    };
  });
  return {
    farms,
    hostsDecidable,
    upstream: opts.upstream ?? upstreamOf(config.server.listen),
    ownPaths: [config.flush.path],
    urlBytes: config.server.limits.urlBytes,
    headerBytes: config.server.limits.headerBytes,
    tmpMarker: TMP_MARKER,
    types: defaultTypes(),
    notReplayed: [...SET_BY_FARMGATE].sort(),
    warnings,
  };
}

