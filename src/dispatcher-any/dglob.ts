/**
 * Dispatcher globs (double-quoted values), read exactly as Dispatcher reads them
 * ("Design patterns for glob properties", Configure Dispatcher):
 *
 * | Dispatcher | meaning                                                        |
 * |------------|----------------------------------------------------------------|
 * | `*`        | zero or more characters, `/` included (`**` is the same)        |
 * | `?`        | exactly one character                                          |
 * | `[...]`    | one character of the class; `a-z` ranges; `!` or `^` negates   |
 * | `[` unclosed | the pattern never matches                                    |
 * | anything else | itself (`{`, `(`, `\` … are literal)                        |
 *
 * The whole value must match. Inside a class the first character (after a negation mark) is
 * always a member, so `[]a]` holds `]` and `a`. `${VAR}` is kept as one opaque token: farmgate
 * substitutes it when it loads the config, as Dispatcher does when it reads its own.
 *
 * A glob becomes a farmgate glob only when that is provably the same set of values: a plain
 * literal of characters picomatch reads literally. Otherwise it becomes `{ regex }`, an exact
 * translation (`*` → `.*`, `?` → `.`; every request value farmgate matches is free of line
 * terminators, so `.` is "any character" there).
 */

export type GlobToken =
  | { readonly t: 'lit'; readonly c: string }
  | { readonly t: 'any' }
  | { readonly t: 'star' }
  | { readonly t: 'class'; readonly neg: boolean; readonly chars: string; readonly ranges: readonly (readonly [string, string])[] }
  | { readonly t: 'var'; readonly text: string };

export type ParsedGlob = { readonly ok: true; readonly tokens: GlobToken[] } | { readonly ok: false; readonly never: string };

const VAR = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}/;

/** Splits a Dispatcher glob into tokens; an unclosed `[` means the glob never matches. */
export function parseDispatcherGlob(glob: string): ParsedGlob {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    const v = ch === '$' ? VAR.exec(glob.slice(i)) : null;
    if (v) {
      tokens.push({ t: 'var', text: v[0] });
      i += v[0].length - 1;
    } else if (ch === '*') {
      if (tokens.at(-1)?.t !== 'star') tokens.push({ t: 'star' });
    } else if (ch === '?') tokens.push({ t: 'any' });
    else if (ch === '[') {
      let j = i + 1;
      const neg = glob[j] === '!' || glob[j] === '^';
      if (neg) j++;
      const end = glob.indexOf(']', j + 1);
      if (end < 0) return { ok: false, never: `unclosed "[" in ${JSON.stringify(glob)}: Dispatcher never matches it` };
      tokens.push(parseClass(glob.slice(j, end), neg));
      i = end;
    } else tokens.push({ t: 'lit', c: ch });
  }
  return { ok: true, tokens };
}

function parseClass(body: string, neg: boolean): GlobToken {
  let chars = '';
  const ranges: [string, string][] = [];
  for (let k = 0; k < body.length; k++) {
    const a = body[k]!;
    if (body[k + 1] === '-' && k + 2 < body.length) {
      ranges.push([a, body[k + 2]!]);
      k += 2;
    } else chars += a;
  }
  return { t: 'class', neg, chars, ranges };
}

/** Escapes a character for a JavaScript/PCRE regex outside a class. */
export function escapeRegexChar(c: string): string {
  return /[\\^$.*+?()[\]{}|]/.test(c) ? '\\' + c : c;
}

/** Escapes a character inside a JavaScript/PCRE class. */
function escapeClassChar(c: string): string {
  return /[\\\]^[]/.test(c) ? '\\' + c : c;
}

/** One class as a regex class (ranges first, a `-` member last); one that holds nothing never matches. */
export function classRegex(chars: string, ranges: readonly (readonly [string, string])[], neg: boolean): string {
  let body = '';
  for (const [a, b] of ranges) if (a <= b) body += `${escapeClassChar(a)}-${escapeClassChar(b)}`;
  const members = [...new Set(chars)];
  body += members.filter((c) => c !== '-').map(escapeClassChar).join('');
  if (members.includes('-')) body += '-';
  if (body === '') return neg ? '[\\d\\D]' : '(?!)';
  if (body === '-' && !neg) return '-';
  return `[${neg ? '^' : ''}${body}]`;
}

/** The exact regex body of glob tokens (`${VAR}` kept verbatim for farmgate to substitute). */
export function tokensToRegex(tokens: readonly GlobToken[]): string {
  return tokens
    .map((t) => {
      switch (t.t) {
        case 'lit':
          return escapeRegexChar(t.c);
        case 'any':
          return '.';
        case 'star':
          return '.*';
        case 'class':
          return classRegex(t.chars, t.ranges, t.neg);
        case 'var':
          return t.text;
      }
    })
    .join('');
}

/**
 * Characters picomatch reads literally, whatever surrounds them (no glob, brace, extglob or
 * negation meaning): a value made of them matches exactly itself (test/dispatcher-any).
 */
const PLAIN = /^[A-Za-z0-9/_.:~%=&-]*$/;

/**
 * The value as a farmgate glob when that glob matches exactly this literal and nothing else:
 * plain characters, no `//`, no `.` or `..` segment, not starting with `./` (picomatch
 * normalises those), and for path keys starting with `/`. `${VAR}`s are allowed inside.
 */
export function literalGlob(text: string, path: boolean): string | undefined {
  const probe = text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/g, 'v');
  if (!PLAIN.test(probe) || probe.includes('//') || probe.startsWith('./') || /(^|\/)\.{1,2}(\/|$)/.test(probe)) return undefined;
  if (path && !text.startsWith('/')) return undefined;
  return text;
}

/** The literal text of tokens when they hold no wildcard, else undefined. */
export function tokensLiteral(tokens: readonly GlobToken[]): string | undefined {
  let out = '';
  for (const t of tokens) {
    if (t.t === 'lit') out += t.c;
    else if (t.t === 'var') out += t.text;
    else return undefined;
  }
  return out;
}

/** Does a token list match every string (only stars)? */
export const matchesEverything = (tokens: readonly GlobToken[]) => tokens.length > 0 && tokens.every((t) => t.t === 'star');

/** Can this token consume the single character `c`? (A star can, and stays.) */
function consumes(t: GlobToken, c: string): boolean {
  switch (t.t) {
    case 'lit':
      return t.c === c;
    case 'any':
      return true;
    case 'class': {
      const inside = t.chars.includes(c) || t.ranges.some(([a, b]) => a <= c && c <= b);
      return inside !== t.neg;
    }
    default:
      return false;
  }
}

/**
 * Every way a glob can match a string that has the character `c` at a given boundary: the
 * pieces before and after that character. A value `B c A` matches the glob exactly when, for
 * one of the splits, `B` matches `before` and `A` matches `after` (a star holding `c` lends
 * itself to both sides). Used to cut a request-line glob at its spaces and its `?`.
 */
export function splitAtChar(tokens: readonly GlobToken[], c: string): [GlobToken[], GlobToken[]][] {
  const out: [GlobToken[], GlobToken[]][] = [];
  tokens.forEach((t, i) => {
    if (t.t === 'star') out.push([tokens.slice(0, i + 1), tokens.slice(i)]);
    else if (consumes(t, c)) out.push([tokens.slice(0, i), tokens.slice(i + 1)]);
  });
  return out;
}

/** A RegExp for tokens (tests on constant strings such as protocols). */
export function tokensRegExp(tokens: readonly GlobToken[]): RegExp {
  return new RegExp(`^(?:${tokensToRegex(tokens)})$`);
}
