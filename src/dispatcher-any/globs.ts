/**
 * Dispatcher host globs (`/virtualhosts`) → farmgate host globs.
 *
 * A host holds no `/`, so picomatch's `*` (any characters but `/`) reads as Dispatcher's `*`
 * (any characters) there; only the characters picomatch would read as syntax are escaped, and
 * a `[^x]` class becomes picomatch's `[^x]` as is. Rule values (filters, cache rules) are
 * carried by values.ts, exactly.
 */
import { globProblem } from '../config/schema.js';

/** Picomatch specials that Dispatcher reads literally (outside a class). */
const LITERAL = new Set(['{', '}', '(', ')', '!', '+', '@', '|', '\\']);

/** Converts one Dispatcher host glob. */
export function convertHostGlob(glob: string): { glob: string } | { error: string } {
  const src = glob.replace(/\*{2,}/g, '*');
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
      // picomatch reads `[!x]` as the characters `!` and `x`; `[^x]` is its negation.
      if (cls.startsWith('[!')) cls = '[^' + cls.slice(2);
      out += cls;
      i = end;
      continue;
    }
    out += LITERAL.has(ch) ? '\\' + ch : ch;
  }
  const problem = globProblem(out);
  return problem ? { error: problem } : { glob: out };
}
