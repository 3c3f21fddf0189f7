/**
 * What the front servers need to know, as plain data: the farms' rules as PCRE patterns, the
 * freshness settings, farmgate's own limits and paths, the default content types. Pure: built
 * from a loaded Config; written to farmgate_config.lua by lua-data.ts.
 *
 * A rule the front cannot evaluate exactly (a regex outside the PCRE-safe subset of pcre.ts)
 * makes its farm undecidable: the front then hands every request of that farm to farmgate (and
 * `farmgate front` warns). A host pattern it cannot evaluate makes farm selection undecidable:
 * every request goes to farmgate.
 */
import mime from 'mime-types';
import { TMP_MARKER } from '../cache/doc-path.js';
import type { Config, FilterMatch, RuleItem } from '../config/index.js';
import { splitHostPort } from '../farms/farm.js';
import { toPcre } from './pcre.js';
import { filterRegexes, globRegexes, pathGlobRegexes } from './rule-regex.js';

export interface FrontRule {
  readonly allow: boolean;
  /** any of these PCRE patterns */
  readonly re: readonly string[];
}

export interface FrontFilterRule {
  readonly allow: boolean;
  readonly match: Partial<Record<keyof FilterMatch, readonly string[]>>;
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
  const farms = config.farms.map((f) => {
    let decidable = true;
    const pcre = (res: RegExp[], what: string): string[] =>
      res.map((re) => {
        const p = toPcre(re, (why) => warnings.push(`farm ${f.name}: ${what}: /${re.source}/${re.flags} cannot be evaluated by the front (${why}); its requests go to farmgate`));
        if (p === undefined) {
          decidable = false;
          return '(?!)';
        }
        return p;
      });
    const rules = (items: readonly RuleItem<string>[], what: string, toRe: (g: string) => RegExp[]): FrontRule[] =>
      items.map((item, i) => {
        const allow = item.allow !== undefined;
        const value = (allow ? item.allow : item.deny)!;
        return { allow, re: pcre(toRe(value), `${what}.${i}`) };
      });
    const hosts = f.virtualhosts.map((glob) => {
      const { host, port } = splitHostPort(glob);
      const re = globRegexes(host, { nocase: true }).map((r) => {
        const p = toPcre(r, (why) => warnings.push(`farm ${f.name}: virtualhost ${JSON.stringify(glob)} cannot be evaluated by the front (${why}); every request goes to farmgate`));
        if (p === undefined) hostsDecidable = false;
        return p ?? '(?!)';
      });
      return { re, port };
    });
    const filter = f.filter?.map((item, i): FrontFilterRule => {
      const allow = item.allow !== undefined;
      const m = filterRegexes((allow ? item.allow : item.deny)!);
      const match: Partial<Record<keyof FilterMatch, string[]>> = {};
      for (const [key, res] of Object.entries(m) as [keyof FilterMatch, RegExp[]][]) match[key] = pcre(res, `filter.${i}.${key}`);
      return { allow, match };
    });
    const c = f.cache;
    const farm: FrontFarm = {
      name: f.name,
      hosts,
      docroot: f.docroot,
      statfileslevel: c.statfileslevel,
      cacheRules: rules(c.rules, 'cache.rules', pathGlobRegexes),
      invalidate: rules(c.invalidate, 'cache.invalidate', pathGlobRegexes),
      ignoreUrlParams: rules(c.ignoreUrlParams, 'cache.ignoreUrlParams', (g) => globRegexes(g)),
      filter,
      allowAuthorized: c.allowAuthorized,
      gracePeriodMs: c.gracePeriodMs,
      enableTTL: c.enableTTL,
      statCheckIntervalMs: c.statCheckIntervalMs,
      decidable,
    };
    return farm;
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
    warnings,
  };
}

