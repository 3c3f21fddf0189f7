/**
 * A JavaScript RegExp → an equivalent PCRE pattern for the front servers (nginx `ngx.re`,
 * Apache `r:regex`), or undefined when it cannot be carried over exactly.
 *
 * Equivalence is claimed only on the inputs the front ever matches: printable ASCII
 * (0x20-0x7e). The generated Lua hands every other input (a control character, a non-ASCII
 * byte) to farmgate, because JavaScript matches UTF-16 code units where PCRE without UTF mode
 * matches bytes, and `.`/`$` treat line terminators differently. On printable ASCII the
 * subset below means the same in both (ECMA-262 §22.2 vs pcre2pattern(3)):
 *
 * - literals, escapes `\d \D \w \W \s \S \b \B`, `\xHH`, `\uHHHH` below 0x80, escaped punctuation;
 * - `.`, classes `[...]` / `[^...]` (a `[` inside is escaped: PCRE reads `[:alpha:]` as a POSIX
 *   class; JavaScript's empty class `[]` and `[^]` are rewritten);
 * - groups `(...)` (made non-capturing: no pattern here uses backreferences, and Apache's
 *   `r:regex` refuses more than 25 captures), `(?:...)`, lookaheads `(?=...)` `(?!...)`;
 * - quantifiers `* + ? {n} {n,} {n,m}`, lazy or not; a `{` that is not a quantifier is escaped;
 * - `^`, `$` (as `\z`: PCRE's `$` also matches before a final newline), `|`;
 * - flags: none or `i` (emitted inline as `(?i)`).
 *
 * Refused (undefined): backreferences, named groups, lookbehind, `\p{}`, `\k`, `\c`, octal and
 * `\0` escapes, other flags (`u`, `s`, `m`, `g`, `y`, `v`, `d`).
 * Written by hand: no library translates between these two dialects.
 */

const SIMPLE_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'b', 'B', 't', 'n', 'r', 'f', 'v']);

/** Is `c` a character that may follow a backslash as itself (an identity escape)? */
function isPunct(c: string): boolean {
  return /^[\^$\\.*+?()[\]{}|/\-,:=!<>#&~%@'"`;_ ]$/.test(c);
}

/** Translates `re` to PCRE, or undefined (the reason in `why`, for warnings). */
export function toPcre(re: RegExp, why?: (reason: string) => void): string | undefined {
  const fail = (reason: string) => {
    why?.(reason);
    return undefined;
  };
  const flags = re.flags;
  if (flags !== '' && flags !== 'i') return fail(`flags "${flags}"`);
  const src = re.source;
  let out = flags === 'i' ? '(?i)' : '';
  let i = 0;
  const n = src.length;

  /** One escape sequence starting at src[i] === '\\'; returns its PCRE form and advances i. */
  const escape = (inClass: boolean): string | undefined => {
    const c = src[i + 1];
    if (c === undefined) return undefined;
    if (SIMPLE_ESCAPES.has(c)) {
      if (inClass && (c === 'b' || c === 'B')) {
        // [\b] is a backspace in JavaScript; PCRE agrees, but keep it simple: refuse.
        return undefined;
      }
      i += 2;
      return '\\' + c;
    }
    if (c === 'x') {
      const hex = src.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      i += 4;
      return `\\x${hex}`;
    }
    if (c === 'u') {
      const hex = src.slice(i + 2, i + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex) || parseInt(hex, 16) >= 0x80) return undefined;
      i += 6;
      return `\\x${hex.slice(2)}`;
    }
    if (isPunct(c)) {
      i += 2;
      // PCRE accepts an escaped non-alphanumeric as itself.
      return '\\' + c;
    }
    return undefined;
  };

  /** A `{n}`, `{n,}` or `{n,m}` at src[i]? Returns its length. */
  const quantifierBrace = (): number => {
    const m = /^\{\d+(?:,\d*)?\}/.exec(src.slice(i));
    return m ? m[0].length : 0;
  };

  while (i < n) {
    const c = src[i]!;
    if (c === '\\') {
      const e = escape(false);
      if (e === undefined) return fail(`escape ${src.slice(i, i + 2)}`);
      out += e;
      continue;
    }
    if (c === '[') {
      // A character class.
      let j = i + 1;
      let negate = false;
      if (src[j] === '^') {
        negate = true;
        j++;
      }
      if (src[j] === ']') {
        // JavaScript: [] matches nothing, [^] matches any character.
        out += negate ? '[\\s\\S]' : '(?!)';
        i = j + 1;
        continue;
      }
      let cls = negate ? '[^' : '[';
      i = j;
      while (i < n && src[i] !== ']') {
        const d = src[i]!;
        if (d === '\\') {
          const e = escape(true);
          if (e === undefined) return fail(`escape ${src.slice(i, i + 2)} in a class`);
          cls += e;
          continue;
        }
        cls += d === '[' ? '\\[' : d;
        i++;
      }
      if (i >= n) return fail('unterminated class');
      out += cls + ']';
      i++;
      continue;
    }
    if (c === '(') {
      if (src.startsWith('(?:', i) || src.startsWith('(?=', i) || src.startsWith('(?!', i)) {
        out += src.slice(i, i + 3);
        i += 3;
        continue;
      }
      if (src[i + 1] === '?') return fail(`group ${src.slice(i, i + 4)}`);
      out += '(?:';
      i++;
      continue;
    }
    if (c === '$') {
      out += '\\z';
      i++;
      continue;
    }
    if (c === '{') {
      const len = quantifierBrace();
      if (len > 0) {
        out += src.slice(i, i + len);
        i += len;
      } else {
        out += '\\{';
        i++;
      }
      continue;
    }
    if (c === '}') {
      out += '\\}';
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
