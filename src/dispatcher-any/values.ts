/**
 * One Dispatcher value (a glob in double quotes, a POSIX regex in single quotes) → the farmgate
 * rule value that matches exactly the same values, or the reason it cannot be carried exactly.
 *
 * A plain literal stays a glob (`"json"` → `json`, `'(css|js)'` → `[css, js]`, `'()'` → `""`);
 * everything else becomes `{ regex }`, an exact translation (dglob.ts, posix-regex.ts).
 */
import { regexProblem } from '../config/regex-subset.js';
import type { RuleAtom, RuleValue } from '../farms/match.js';
import { escapeRegexChar, literalGlob, matchesEverything, parseDispatcherGlob, tokensLiteral, tokensToRegex, type GlobToken } from './dglob.js';
import { translatePosixRegex } from './posix-regex.js';

/** `path`: values start with `/` (url, path, suffix, cache rules); `method`: upper-case only. */
export type ValueKind = 'path' | 'plain' | 'method';

export interface CarriedValue {
  /** What the YAML gets. */
  readonly value: RuleValue;
  /** The same set as one regex body (whole-value match), for combining two values of a key. */
  readonly source: string;
  /** Matches every value: the key can be left out. */
  readonly everything: boolean;
  /** Matches no value at all. */
  readonly nothing: boolean;
}

export type Carry = { readonly ok: true; readonly v: CarriedValue } | { readonly ok: false; readonly why: string };

const NEVER: CarriedValue = { value: { regex: '(?!)' }, source: '(?!)', everything: false, nothing: true };
const ALWAYS: CarriedValue = { value: { regex: '.*' }, source: '.*', everything: true, nothing: false };

const VARS = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/g;

/** A value as written in the config when it is the literal `text`. */
function literalValue(text: string, kind: ValueKind): RuleAtom {
  const glob = literalGlob(text, kind === 'path');
  if (glob !== undefined && (kind !== 'path' || glob !== '')) return glob;
  return { regex: literalRegex(text) };
}

function literalRegex(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const v = text[i] === '$' ? /^\$\{[A-Za-z_][A-Za-z0-9_]*\}/.exec(text.slice(i)) : null;
    if (v) {
      out += v[0];
      i += v[0].length - 1;
    } else out += escapeRegexChar(text[i]!);
  }
  return out;
}

/** Methods arrive upper-case: a pattern with lower-case letters matched none in Dispatcher. */
function methodProblem(source: string, kind: ValueKind): string | undefined {
  if (kind !== 'method') return undefined;
  return /[a-z]/.test(source.replace(VARS, '').replace(/\\./g, ''))
    ? 'methods arrive upper-case, so Dispatcher matched this lower-case pattern against none of them, while farmgate compares methods case-insensitively'
    : undefined;
}

function checked(v: CarriedValue, kind: ValueKind): Carry {
  const problem = methodProblem(v.source, kind) ?? regexProblem(v.source.replace(VARS, 'x'));
  return problem ? { ok: false, why: problem } : { ok: true, v };
}

/** Glob tokens (a Dispatcher glob, or a piece of one) → a carried value. */
export function carryTokens(tokens: readonly GlobToken[], kind: ValueKind): Carry {
  if (matchesEverything(tokens)) return { ok: true, v: ALWAYS };
  const literal = tokensLiteral(tokens);
  if (literal !== undefined) {
    return checked({ value: literalValue(literal, kind), source: literalRegex(literal), everything: false, nothing: false }, kind);
  }
  const source = tokensToRegex(tokens);
  return checked({ value: { regex: source }, source, everything: false, nothing: false }, kind);
}

/** A Dispatcher value → the exact farmgate value. */
export function carryValue(s: { readonly text: string; readonly quote: string }, kind: ValueKind): Carry {
  if (s.quote !== "'") {
    const parsed = parseDispatcherGlob(s.text);
    return parsed.ok ? carryTokens(parsed.tokens, kind) : { ok: true, v: NEVER };
  }
  const t = translatePosixRegex(s.text);
  if (!t.ok) return { ok: false, why: t.why };
  if (t.source === '.*') return { ok: true, v: ALWAYS };
  const literals = t.alternatives.map((a) => a.literal);
  if (literals.every((l): l is string => l !== undefined)) {
    const atoms = [...new Map(literals.map((l) => [JSON.stringify(literalValue(l, kind)), literalValue(l, kind)])).values()];
    const value: RuleValue = atoms.length === 1 ? atoms[0]! : atoms;
    return checked({ value, source: t.source, everything: false, nothing: false }, kind);
  }
  return checked({ value: { regex: t.source }, source: t.source, everything: false, nothing: false }, kind);
}

/** Both values must match (two conditions on one key): one regex with a lookahead. */
export function andValues(a: CarriedValue, b: CarriedValue): CarriedValue {
  if (a.everything) return b;
  if (b.everything) return a;
  if (a.nothing || b.nothing) return NEVER;
  const source = `(?=(?:${a.source})$)(?:${b.source})`;
  return { value: { regex: source }, source, everything: false, nothing: false };
}

export const NEVER_VALUE = NEVER;
export const ALWAYS_VALUE = ALWAYS;

/** The `${VAR}` names a value keeps verbatim. */
export function varsOf(text: string): string[] {
  return [...new Set(text.match(VARS) ?? [])];
}
