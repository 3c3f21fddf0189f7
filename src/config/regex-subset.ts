/**
 * The regular expressions a rule value may hold (`{ regex: "..." }`): the subset that means the
 * same in JavaScript, where farmgate evaluates it, and in PCRE, where nginx (`ngx.re`) and Apache
 * (`r:regex`) evaluate the configuration `farmgate front` writes. Checked once, at config load.
 *
 * Allowed: literal characters; `.`; `^` `$`; `|`; groups `( )`, `(?: )`, lookaheads `(?= )`
 * `(?! )`; quantifiers `*` `+` `?` `{n}` `{n,}` `{n,m}`, each optionally lazy (`*?`);
 * character classes `[...]` / `[^...]` with ranges; escapes of punctuation (`\.`, `\/`, `\(`),
 * `\d \D \w \W \b \B \t \n \r \f` and `\xHH`.
 *
 * Refused, because the two engines read them differently or one lacks them: POSIX classes inside
 * brackets (`[[:alpha:]]`: a class in PCRE, literal characters in JavaScript), `[]` and `[^]`
 * (empty in JavaScript, the start of a class holding `]` in PCRE), `\s \S` (Unicode spaces in
 * JavaScript, ASCII in PCRE), `\v` (a class in PCRE), back-references and named groups,
 * lookbehinds (fixed length only in PCRE), inline flags, `\p{…}`, `\u`, `\c`, `\k`, `\0`, and a
 * `{` or `}` that is not a quantifier (PCRE2 10.43 reads `{,n}` as one; write `\{`).
 *
 * Hand-written: no library in the project parses regexes, and this is a single scan.
 */

const CLASS_ESCAPES = new Set(['d', 'D', 'w', 'W', 'b', 'B', 't', 'n', 'r', 'f']);
const QUANTIFIER = /^\{\d+(?:,\d*)?\}/;

/** Why `source` is not an allowed rule regex, or undefined when it is. */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(`^(?:${source})$`);
  } catch (err) {
    return `invalid regex ${JSON.stringify(source)}: ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/: /, '')}`;
  }
  const problem = scan(source);
  return problem ? `regex ${JSON.stringify(source)}: ${problem}` : undefined;
}

function escapeProblem(source: string, i: number, inClass: boolean): string | undefined {
  const c = source[i + 1];
  if (c === undefined) return 'ends with a lone "\\"';
  if (c === 'x') return /^[0-9A-Fa-f]{2}$/.test(source.slice(i + 2, i + 4)) ? undefined : '"\\x" needs two hex digits (\\xHH)';
  if (/[0-9A-Za-z]/.test(c)) {
    if (CLASS_ESCAPES.has(c) && !(inClass && (c === 'b' || c === 'B'))) return undefined;
    if (c === 's' || c === 'S') return `"\\${c}" differs between JavaScript and PCRE: write the characters, e.g. [ \\t]`;
    if (/[1-9]/.test(c)) return 'back-references are not supported';
    return `"\\${c}" is not supported (allowed escapes: punctuation, \\d \\D \\w \\W \\b \\B \\t \\n \\r \\f \\xHH)`;
  }
  return undefined;
}

function scan(source: string): string | undefined {
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      const p = escapeProblem(source, i, false);
      if (p) return p;
      i += source[i + 1] === 'x' ? 3 : 1;
    } else if (ch === '[') {
      const end = classEnd(source, i);
      if (typeof end === 'string') return end;
      i = end;
    } else if (ch === '(') {
      if (source[i + 1] === '?') {
        const kind = source[i + 2];
        if (kind !== ':' && kind !== '=' && kind !== '!') {
          return kind === '<' ? 'lookbehinds and named groups are not supported' : `"(?${kind ?? ''}" is not supported (allowed: (?: (?= (?!)`;
        }
      }
    } else if (ch === '{') {
      if (!QUANTIFIER.test(source.slice(i))) return 'a "{" that is not a quantifier {n}, {n,} or {n,m}: write \\{';
      i = source.indexOf('}', i);
    } else if (ch === '}') {
      return 'a lone "}": write \\}';
    }
  }
  return undefined;
}

/** The index of the `]` closing the class opened at `open`, or a problem. */
function classEnd(source: string, open: number): number | string {
  let i = open + 1;
  if (source[i] === '^') i++;
  if (source[i] === ']') return '"[]" and "[^]" mean different things in JavaScript and PCRE';
  for (; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === ']') return i;
    if (ch === '\\') {
      const p = escapeProblem(source, i, true);
      if (p) return p;
      i += source[i + 1] === 'x' ? 3 : 1;
    } else if (ch === '[' && /[:=.]/.test(source[i + 1] ?? '')) {
      return `POSIX bracket expressions like "[${source[i + 1]}…${source[i + 1]}]" are not supported: list the characters (e.g. [0-9] for [:digit:])`;
    }
  }
  return 'unclosed "["';
}
