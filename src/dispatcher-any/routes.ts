/**
 * Deriving `flushRoutes`. Dispatcher picks the farm for a flush by the flush request's Host;
 * farmgate routes by the `CQ-Path` glob. The content a farm serves is what its filter allows
 * (or, without a filter, what its cache rules allow), so the allowed `/content/…` path prefixes
 * are the farm's routes: `/content/site-a/**` stays, `/content/site-a/*.html` gives
 * `/content/site-a/**`, an allow-all gives `/**`.
 */
import { where, type Loc, type Scalar } from './ast.js';
import { carryValue, type CarriedValue } from './values.js';

export interface Derived {
  readonly routes: string[];
  readonly from: string;
  readonly locs: Loc[];
}

/** The literal start of an allowed url/path value: `complete` when the value is that literal. */
export interface RoutePrefix {
  readonly prefix: string;
  readonly complete: boolean;
  readonly loc: Loc;
}

/** The literal prefixes of a carried url/path value (one per literal alternative). */
export function routePrefix(src: Scalar, carried: CarriedValue | undefined): Omit<RoutePrefix, 'loc'> | undefined {
  const c = carried ?? (() => {
    const r = carryValue(src, 'path');
    return r.ok ? r.v : undefined;
  })();
  if (!c || c.nothing) return undefined;
  if (c.everything) return { prefix: '', complete: false };
  const v = c.value;
  if (typeof v === 'string') return { prefix: v, complete: true };
  if (Array.isArray(v) || typeof v !== 'object') return undefined;
  return regexPrefix((v as { regex: string }).regex);
}

/** The literal text a regex body starts with (no top-level alternation), and whether that is all. */
function regexPrefix(source: string): { prefix: string; complete: boolean } | undefined {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source[i] === '(') depth++;
    else if (source[i] === ')') depth--;
    else if (source[i] === '|' && depth === 0) return undefined;
  }
  let prefix = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\' && /[^0-9A-Za-z]/.test(source[i + 1] ?? 'a')) {
      prefix += source[++i];
      continue;
    }
    if (/[.[\](){}*+?|^$\\]/.test(ch)) {
      // A quantifier makes the character before it optional.
      if (/[*?{]/.test(ch)) prefix = prefix.slice(0, -1);
      // Nothing literal to go by (`.*/contexthub.json` is not "every path").
      if (prefix === '') return undefined;
      return { prefix, complete: false };
    }
    prefix += ch;
  }
  return { prefix, complete: true };
}

/** The route a prefix implies: its folder under /content plus `/**`, `/**` for an allow-all. */
export function routeOf(p: { prefix: string; complete: boolean }): string | undefined {
  const cut = p.prefix.indexOf('${');
  let prefix = cut >= 0 ? p.prefix.slice(0, cut) : p.prefix;
  const complete = p.complete && cut < 0;
  if (!complete) prefix = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  prefix = prefix.replace(/\/+$/, '');
  if (prefix === '') return complete ? undefined : '/**';
  if (prefix !== '/content' && !prefix.startsWith('/content/')) return undefined;
  return prefix + '/**';
}

/** Keeps the broadest routes: `/content/**` covers `/content/site/**`. */
export function reduceRoutes(routes: string[]): string[] {
  const unique = [...new Set(routes)].sort();
  const base = (r: string) => r.slice(0, -3);
  return unique.filter((r) => !unique.some((o) => o !== r && (o === '/**' || base(r).startsWith(base(o) + '/'))));
}

export function deriveRoutes(filterAllows: readonly RoutePrefix[], ruleAllows: readonly RoutePrefix[]): Derived {
  for (const [from, source] of [['/filter allow paths', filterAllows], ['/cache /rules allows', ruleAllows]] as const) {
    const hits = source.map((s) => ({ route: routeOf(s), loc: s.loc })).filter((h) => h.route !== undefined);
    if (hits.length > 0) {
      const routes = reduceRoutes(hits.map((h) => h.route!));
      const locs = hits.filter((h) => routes.includes(h.route!)).map((h) => h.loc);
      return { routes, from, locs: dedupeLocs(locs) };
    }
  }
  return { routes: [], from: '', locs: [] };
}

function dedupeLocs(locs: Loc[]): Loc[] {
  const seen = new Set<string>();
  return locs.filter((l) => !seen.has(where(l)) && seen.add(where(l)));
}

/** `[a-z0-9-]+`, unique among `taken`. */
export function farmName(raw: string, taken: Set<string>): string {
  const base = raw.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'farm';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}
