/**
 * Deriving `flushRoutes`. Dispatcher picks the farm for a flush by the flush request's Host;
 * farmgate routes by the `CQ-Path` glob. The content a farm serves is what its filter allows
 * (or, without a filter, what its cache rules allow), so the allowed `/content/…` path prefixes
 * are the farm's routes: `/content/site-a/**` stays, `/content/site-a/*.html` gives
 * `/content/site-a/**`, an allow-all gives `/**`.
 */
import { where, type Loc } from './ast.js';

export interface Derived {
  readonly routes: string[];
  readonly from: string;
  readonly locs: Loc[];
}

/** The route a path glob implies: its literal leading folders plus `/**`, or undefined. */
export function routeOf(glob: string): string | undefined {
  const segments = glob.split('/').slice(1);
  const fixed: string[] = [];
  for (const seg of segments) {
    if (/[*?[{(\\!]|\$\{/.test(seg)) break;
    fixed.push(seg);
  }
  const prefix = '/' + fixed.join('/');
  if (prefix === '/') return glob.startsWith('/**') || glob === '/*' ? '/**' : undefined;
  if (prefix !== '/content' && !prefix.startsWith('/content/')) return undefined;
  return prefix + '/**';
}

/** Keeps the broadest routes: `/content/**` covers `/content/site/**`. */
export function reduceRoutes(routes: string[]): string[] {
  const unique = [...new Set(routes)].sort();
  const base = (r: string) => r.slice(0, -3);
  return unique.filter((r) => !unique.some((o) => o !== r && (o === '/**' || base(r).startsWith(base(o) + '/'))));
}

export function deriveRoutes(
  filterAllows: readonly { glob: string; loc: Loc }[],
  ruleAllows: readonly { glob: string; loc: Loc }[],
): Derived {
  for (const [from, source] of [['/filter allow paths', filterAllows], ['/cache /rules allows', ruleAllows]] as const) {
    const hits = source.map((s) => ({ route: routeOf(s.glob), loc: s.loc })).filter((h) => h.route !== undefined);
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
