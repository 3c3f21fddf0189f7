/**
 * The farm filter (contract section 2): ordered allow/deny rules on `method`, `path`, `extension`,
 * `selectors`, `suffix`, `query`; every key given in an item must match; the last matching item
 * decides; no filter = allow all; denied → 404.
 *
 * "When multiple filter patterns apply to a request, the last applied filter pattern is
 * effective." (Adobe, Configure Dispatcher, /filter)
 */
import type { FilterMatch, RuleItem } from '../config/index.js';
import { anyOf, compileGlob, compilePathGlob, compileRules, decide, type CompiledRule, type Matcher } from './match.js';
import type { SlingUrl } from './sling-url.js';

export interface FilterInput extends SlingUrl {
  readonly method: string;
  /** Raw query string without `?`; undefined when the request has none. */
  readonly query: string | undefined;
}

export type CompiledFilter = (input: FilterInput) => boolean;

const list = (v: string | readonly string[]) => (typeof v === 'string' ? [v] : v);

function compileMatch(m: FilterMatch): (input: FilterInput) => boolean {
  const checks: ((input: FilterInput) => boolean)[] = [];
  const globs = (v: string | readonly string[] | undefined, c: (g: string) => Matcher) =>
    v === undefined ? undefined : anyOf(list(v).map(c));
  const method = globs(m.method, (g) => compileGlob(g, { nocase: true }));
  const path = globs(m.path, compilePathGlob);
  const extension = globs(m.extension, (g) => compileGlob(g));
  const selectors = globs(m.selectors, (g) => compileGlob(g));
  const suffix = globs(m.suffix, compilePathGlob);
  const query = globs(m.query, (g) => compileGlob(g));
  if (method) checks.push((i) => method(i.method));
  if (path) checks.push((i) => path(i.path));
  if (extension) checks.push((i) => extension(i.extension));
  if (selectors) checks.push((i) => selectors(i.selectors));
  if (suffix) checks.push((i) => suffix(i.suffix));
  // "/query rules match only requests that have a query string" (Configure Dispatcher).
  if (query) checks.push((i) => i.query !== undefined && query(i.query));
  return (input) => checks.every((c) => c(input));
}

/** Compiles a farm filter; undefined (no filter) allows everything. */
export function compileFilter(items: readonly RuleItem<FilterMatch>[] | undefined): CompiledFilter {
  if (items === undefined) return () => true;
  const rules: CompiledRule<FilterInput>[] = compileRules<FilterMatch, FilterInput>(items, compileMatch);
  return (input) => decide(rules, input);
}
