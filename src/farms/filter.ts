/**
 * The farm filter (contract section 2): ordered allow/deny rules on `url`, `method`, `path`,
 * `extension`, `selectors`, `suffix`, `query`; every key given in an item must match; the last
 * matching item decides; no filter = allow all; denied → 404.
 *
 * "When multiple filter patterns apply to a request, the last applied filter pattern is
 * effective." (Adobe, Configure Dispatcher, /filter)
 */
import type { FilterMatch, RuleItem } from '../config/index.js';
import { compileRules, compileValue, decide as decideBool, decideRule, type Matcher, type Rule, type RuleDecision, type RuleValue } from './match.js';
import { decomposeSlingUrl, type SlingUrl } from './sling-url.js';

export interface FilterInput extends SlingUrl {
  /** The whole request path, percent-decoded once, without the query string. */
  readonly url: string;
  readonly method: string;
  /** Raw query string without `?`; undefined when the request has none. */
  readonly query: string | undefined;
}

/** The filter input of a request: its decoded document path, method and raw query. */
export function filterInput(docPath: string, method: string, query: string | undefined): FilterInput {
  return { ...decomposeSlingUrl(docPath), url: docPath, method, query };
}

/** Filter keys, in the order they are checked. */
export const FILTER_KEYS = ['method', 'url', 'path', 'extension', 'selectors', 'suffix', 'query'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

/**
 * One compiled filter item, as data: every key it gives has a matcher, and all must match.
 * `method` is case-insensitive (its regex has the `i` flag). `query` matches only a request
 * that has a query string ("/query rules match only requests that have a query string",
 * Configure Dispatcher), tested against the raw string after `?`. Path-valued keys (`url`,
 * `path`, `suffix`) are tested against decoded values; `extension`, `selectors` and `suffix`
 * are `''` when the request has none.
 */
export interface FilterRule extends Rule<FilterInput> {
  readonly match: Readonly<Partial<Record<FilterKey, Matcher>>>;
}

export interface CompiledFilter {
  /** undefined: the farm has no filter, which allows every request. */
  readonly rules: readonly FilterRule[] | undefined;
  readonly allows: (input: FilterInput) => boolean;
  /** Which rule decided (index -1: no rule matched, or no filter at all when `rules` is undefined). */
  readonly decide: (input: FilterInput) => RuleDecision;
}

const PATH_KEYS: ReadonlySet<FilterKey> = new Set(['url', 'path', 'suffix']);

function compileMatch(m: FilterMatch, allow: boolean): FilterRule {
  const match: Partial<Record<FilterKey, Matcher>> = {};
  const checks: ((input: FilterInput) => boolean)[] = [];
  for (const key of FILTER_KEYS) {
    const value = m[key] as RuleValue | undefined;
    if (value === undefined) continue;
    const matcher = compileValue(value, { path: PATH_KEYS.has(key), nocase: key === 'method' });
    match[key] = matcher;
    const test = matcher.test;
    if (key === 'query') checks.push((i) => i.query !== undefined && test(i.query));
    else checks.push((i) => test(i[key]));
  }
  return { allow, match: Object.freeze(match), test: (input) => checks.every((c) => c(input)) };
}

const ALLOW_ALL: RuleDecision = Object.freeze({ allow: true, index: -1 });

/** Compiles a farm filter; undefined (no filter) allows everything. */
export function compileFilter(items: readonly RuleItem<FilterMatch>[] | undefined): CompiledFilter {
  if (items === undefined) return Object.freeze({ rules: undefined, allows: () => true, decide: () => ALLOW_ALL });
  const rules = Object.freeze(compileRules<FilterMatch, FilterRule>(items, compileMatch));
  return Object.freeze({
    rules,
    allows: (input: FilterInput) => decideBool(rules, input),
    decide: (input: FilterInput) => decideRule(rules, input),
  });
}
