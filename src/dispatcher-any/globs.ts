/**
 * Dispatcher globs and regexes → farmgate (picomatch) globs.
 *
 * Dispatcher's `*` matches any characters, `/` included ("`*\/geo*` matches
 * `GET /content/geometrixx/en.html`", Configure Dispatcher). Ours stays within a segment and `**`
 * crosses segments, so each `*` is rewritten by what surrounds it:
 *
 * | Dispatcher        | farmgate                | why                                        |
 * |-------------------|-------------------------|--------------------------------------------|
 * | `*`               | `/**`                   | whole path                                 |
 * | `/a/*`            | `/a/**`                 | crosses folders (and matches `/a` itself)  |
 * | `*.html`          | `/**\/*.html`           | leading star: any folders, then the rest   |
 * | `/content*`       | `/content*{,/**}`       | trailing star inside a segment             |
 * | `/a/b*c`          | `/a/b*{,/**\/*}c`       | star inside a segment                      |
 * | `(x)`, `{x}`, `!` | `\(x\)`, `\{x\}`, `\!`  | literal in Dispatcher, special in ours     |
 *
 * `${VAR}` stays verbatim. Single-quoted values are POSIX regexes (Dispatcher 4.2+); the simple
 * ones people write (`'(css|js)'`, `'(GET|HEAD)'`, `'jpe?g'`, `'/x/.*'`) become lists of globs.
 */
import { globProblem } from '../config/schema.js';

/** `path`: starts with `/`, stars rewritten; `text`: stars rewritten (queries); `word`: no `/` in values. */
export type GlobKind = 'path' | 'text' | 'word';

/** Picomatch specials that Dispatcher reads literally (outside a class). */
const LITERAL = new Set(['{', '}', '(', ')', '!', '+', '@', '|', '\\']);

/**
 * Converts one Dispatcher glob. `path` globs (urls, paths, suffixes, cache rules) and `text`
 * globs (queries) get the star rewriting above; `word` globs (extension, selectors, method,
 * parameter names, hosts) only get escaping, since their values never hold a `/`.
 */
export function convertGlob(glob: string, kind: GlobKind): { glob: string } | { error: string } {
  let src = glob.replace(/\*{2,}/g, '*');
  if (kind === 'path' && !src.startsWith('/') && !src.startsWith('${')) src = '/' + src;
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (ch === '$' && src[i + 1] === '{') {
      const end = src.indexOf('}', i);
      if (end > 0) {
        out += src.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (ch === '[') {
      const end = src.indexOf(']', i + 2);
      if (end < 0) return { error: `unclosed "[" in ${JSON.stringify(glob)} (Dispatcher never matches it)` };
      let cls = src.slice(i, end + 1);
      if (cls.startsWith('[^')) cls = '[!' + cls.slice(2);
      out += cls;
      i = end;
      continue;
    }
    if (ch === '*' && kind !== 'word') {
      const prev = i === 0 ? '/' : src[i - 1]!;
      const next = i === src.length - 1 ? '' : src[i + 1]!;
      const segStart = prev === '/';
      const segEnd = next === '' || next === '/';
      if (segStart && segEnd) out += '**';
      else if (segStart) out += '**/*';
      else if (segEnd) out += '*{,/**}';
      else out += '*{,/**/*}';
      continue;
    }
    out += LITERAL.has(ch) ? '\\' + ch : ch;
  }
  // `/a/*/*.html` → `/a/**/**/*.html`: one globstar says the same.
  while (out.includes('/**/**')) out = out.replace('/**/**', '/**');
  const problem = globProblem(out);
  return problem ? { error: problem } : { glob: out };
}

export interface RegexConversion {
  /** Dispatcher-style globs (`*` = anything), one per alternative that converted. */
  readonly globs: string[];
  /** Alternatives that could not be expressed as a glob, with why. */
  readonly dropped: string[];
}

/**
 * A simple POSIX regex as Dispatcher-style globs: top-level alternatives (optionally in one
 * group), literals, `\x` escapes, `.*` (and `.+`, slightly wider), an optional single character
 * (`jpe?g` → jpeg, jpg) and one-character classes. Anything else drops that alternative.
 * A lone `.` is read as a literal dot, the intent of values like `'/libs/granite/csrf/token.json'`.
 */
export function regexToGlobs(regex: string): RegexConversion {
  let body = regex.replace(/^\^/, '').replace(/(?<!\\)\$$/, '');
  if (body.startsWith('(') && matchingParen(body, 0) === body.length - 1) body = body.slice(1, -1);
  const globs: string[] = [];
  const dropped: string[] = [];
  for (const alt of splitTop(body)) {
    const converted = convertAlternative(alt);
    if (typeof converted === 'string') dropped.push(`'${alt}' (${converted})`);
    else globs.push(...converted);
  }
  return { globs: [...new Set(globs)], dropped };
}

function convertAlternative(alt: string): string[] | string {
  let variants = [''];
  const add = (s: string) => (variants = variants.map((v) => v + s));
  for (let i = 0; i < alt.length; i++) {
    const ch = alt[i]!;
    const next = alt[i + 1];
    let atom: string;
    if (ch === '\\') {
      const esc = alt[i + 1];
      if (esc === undefined || /[A-Za-z0-9]/.test(esc)) return `escape \\${esc ?? ''} has no glob equivalent`;
      atom = esc;
      i++;
    } else if (ch === '.') {
      if (next === '*' || next === '+') {
        add('*');
        i++;
        continue;
      }
      atom = '.';
    } else if (ch === '[') {
      const end = alt.indexOf(']', i + 2);
      if (end < 0) return 'unclosed [';
      atom = alt.slice(i, end + 1).replace(/^\[\^/, '[!');
      i = end;
    } else if (ch === '(' && alt[i + 1] === ')') {
      i++;
      continue;
    } else if ('()|*+?{}^$'.includes(ch)) {
      return `"${ch}" has no glob equivalent here`;
    } else atom = ch;
    if (atom === '*' || atom === '?') return `literal "${atom}" cannot be expressed as a glob`;
    const q = alt[i + 1];
    if (q === '?') {
      if (atom.length > 1 && atom.startsWith('[')) return 'optional character class';
      variants = variants.flatMap((v) => [v + atom, v]);
      i++;
    } else if (q === '*' || q === '+' || q === '{') {
      return `repetition "${atom}${q}" has no glob equivalent`;
    } else add(atom);
  }
  return variants;
}

/** Splits at top-level `|` (outside groups and classes). */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\') i++;
    else if (ch === '[') i = Math.max(i, s.indexOf(']', i + 2));
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/** IPv4 client globs (`/allowedClients`) → IPs and CIDRs: `10.0.0.*` → `10.0.0.0/24`. */
export function clientGlobToCidr(glob: string): string | undefined {
  if (/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(glob)) return glob;
  if (glob === '*') return '0.0.0.0/0';
  const parts = glob.split('.');
  if (parts.length !== 4) return /^[0-9a-fA-F:]+(\/\d+)?$/.test(glob) && glob.includes(':') ? glob : undefined;
  const fixed: string[] = [];
  for (const [i, p] of parts.entries()) {
    if (p === '*') {
      if (!parts.slice(i).every((q) => q === '*')) return undefined;
      break;
    }
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    fixed.push(p);
  }
  if (fixed.length === 4) return glob;
  return [...fixed, ...Array(4 - fixed.length).fill('0')].join('.') + `/${fixed.length * 8}`;
}
