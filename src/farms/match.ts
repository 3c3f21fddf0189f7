/**
 * Rule values and rule lists, pure and compiled once.
 *
 * A rule value is a glob, a list (any of its items) or `{ regex: "..." }`, a regular expression
 * that must match the whole value (contract section 2). Globs are picomatch globs with
 * `dot: true`: `*` stays within one path segment, `**` crosses segments; paths are
 * case-sensitive. An empty string matches only an empty value, and a non-empty glob never
 * matches an empty value (as picomatch's own matcher decides).
 *
 * Every compiled value is one anchored RegExp, and that RegExp is the matcher: the serving
 * path, `test-url` and the configuration `farmgate front` writes for nginx/Apache (PCRE) all
 * evaluate the same expression. test/farms/match.test.ts checks, with fast-check, that it
 * decides exactly as picomatch's matcher and the user's regex do.
 */
import picomatch from 'picomatch';

/** A regular expression item of a rule value: matches the whole value. */
export interface RegexValue {
  readonly regex: string;
}
export type RuleAtom = string | RegexValue;
/** What a config file holds for a rule value. */
export type RuleValue = RuleAtom | readonly RuleAtom[];

export interface Matcher {
  /**
   * Anchored (`^(?:…)$`), equivalent to `test` on every input. Its flags are `''`, or `'i'` for
   * case-insensitive values (methods, hosts). Uses only constructs that PCRE reads the same
   * way: `(?:`, `(?=`, `(?!`, lazy quantifiers, classes; no back-references, no lookbehind.
   * In PCRE emit it with the D (dollar-end-only) option or `$` replaced by `\z`, since a PCRE
   * `$` also matches before a final newline (our values never hold one: paths with control
   * characters are refused before any rule runs).
   */
  readonly regex: RegExp;
  readonly test: (value: string) => boolean;
}

export interface CompileOptions {
  /** Path semantics: a leading `/**\/` also matches zero folders. */
  readonly path?: boolean;
  /** Case-insensitive (methods, hosts). */
  readonly nocase?: boolean;
}

/**
 * The body of picomatch's `^(?:BODY)$`; a negated glob (`!a`) keeps its own anchors. Its `\v`
 * (from `[[:space:]]`) becomes `\x0B`, the same character in JavaScript, since PCRE reads `\v`
 * as every vertical space.
 */
function unwrap(re: RegExp): string {
  const s = re.source;
  const body = s.startsWith('^(?:') && s.endsWith(')$') ? s.slice(4, -2) : s;
  return body.replace(/\\(.)/g, (m, c: string) => (c === 'v' ? '\\x0B' : m));
}

const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/**
 * One glob as a regex body, exactly as picomatch's matcher decides it: the compiled expression,
 * plus the glob itself as a literal (picomatch's matcher accepts an input equal to the glob),
 * and never the empty value.
 */
function globBody(glob: string, nocase: boolean): string {
  if (glob === '') return '';
  const re = picomatch.makeRe(glob, { dot: true, nocase });
  let body = unwrap(re);
  if (!re.test(glob)) body = `${body}|${escapeRegex(glob)}`;
  if (re.test('')) body = `(?=[\\d\\D])(?:${body})`;
  return body;
}

/**
 * A path glob as a regex body. A leading `/**\/` also matches zero folders, so `/**\/*.html`
 * matches `/index.html` as a user reads it (picomatch alone would demand one folder).
 */
function pathGlobBody(glob: string, nocase: boolean): string {
  const main = globBody(glob, nocase);
  if (!glob.startsWith('/**/')) return main;
  return `${main}|${globBody('/' + glob.slice(4), nocase)}`;
}

function atomBody(atom: RuleAtom, opts: CompileOptions): string {
  if (typeof atom !== 'string') return atom.regex;
  return opts.path ? pathGlobBody(atom, opts.nocase ?? false) : globBody(atom, opts.nocase ?? false);
}

/** Compiles a rule value (validated by the config schema) to its one RegExp. */
export function compileValue(value: RuleValue, opts: CompileOptions = {}): Matcher {
  const atoms: readonly RuleAtom[] = typeof value === 'string' || !Array.isArray(value) ? [value as RuleAtom] : value;
  const bodies = atoms.map((a) => atomBody(a, opts));
  const source = bodies.length === 1 ? `^(?:${bodies[0]})$` : `^(?:${bodies.map((b) => `(?:${b})`).join('|')})$`;
  const regex = new RegExp(source, opts.nocase ? 'i' : '');
  return { regex, test: (v: string) => regex.test(v) };
}

/** Compiles a path glob (`cache.rules`, `flushRoutes`, …). */
export function compilePathGlob(glob: string): Matcher {
  return compileValue(glob, { path: true });
}

/** Compiles a non-path glob (extension, selectors, parameter names, hosts …). */
export function compileGlob(glob: string, opts: { nocase?: boolean } = {}): Matcher {
  return compileValue(glob, { nocase: opts.nocase ?? false });
}

/** An item of a compiled rule list: allow or deny, and what it matches. */
export interface Rule<I> {
  readonly allow: boolean;
  readonly test: (input: I) => boolean;
}

/** A rule on one value (`cache.rules`, `cache.invalidate`, `cache.ignoreUrlParams`). */
export interface ValueRule extends Rule<string> {
  readonly matcher: Matcher;
}

/** Which rule decided: its index in the list (-1 when none matched, which denies). */
export interface RuleDecision {
  readonly allow: boolean;
  readonly index: number;
}

const NO_MATCH: RuleDecision = Object.freeze({ allow: false, index: -1 });

/** Rule lists: the last item that matches decides; no match = deny. */
export function decide<I>(rules: readonly Rule<I>[], input: I): boolean {
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    if (rule.test(input)) return rule.allow;
  }
  return false;
}

/** As `decide`, and says which rule decided (for `farmgate test-url`). */
export function decideRule<I>(rules: readonly Rule<I>[], input: I): RuleDecision {
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    if (rule.test(input)) return { allow: rule.allow, index: i };
  }
  return NO_MATCH;
}

type Item<V> = { readonly allow?: V | undefined; readonly deny?: V | undefined };

/** Compiles `[{ allow: X } | { deny: X }]` with a per-item compiler. */
export function compileRules<V, R>(items: readonly Item<V>[], compileItem: (value: V, allow: boolean) => R): R[] {
  return items.map((item) => {
    const allow = item.allow !== undefined;
    return compileItem((allow ? item.allow : item.deny) as V, allow);
  });
}

/** Compiles a rule list on single values. */
export function compileValueRules(items: readonly Item<RuleValue>[], opts: CompileOptions = {}): ValueRule[] {
  return compileRules<RuleValue, ValueRule>(items, (value, allow) => {
    const matcher = compileValue(value, opts);
    return { allow, matcher, test: matcher.test };
  });
}

/** Path rule lists (`cache.rules`, `cache.invalidate`). */
export function compilePathRules(items: readonly Item<RuleValue>[]): ValueRule[] {
  return compileValueRules(items, { path: true });
}
