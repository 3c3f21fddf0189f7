/**
 * dispatcher.any tokens: `{`, `}`, `/name`, `"double"` and `'single'` quoted values, bare values
 * and `$include`. `#` starts a comment to the end of the line unless inside quotes; a quoted value
 * cannot span lines (DOT ConfigurationCleaner / ConfigurationReader).
 */
import { DispatcherAnyError } from './ast.js';

export type Token =
  | { readonly type: 'open' | 'close'; readonly line: number }
  | { readonly type: 'name'; readonly text: string; readonly line: number }
  | { readonly type: 'include'; readonly line: number }
  | { readonly type: 'value'; readonly text: string; readonly quote: '"' | "'" | ''; readonly line: number };

const SPACE = /\s/;
/** Characters that end a bare value or a `/name`. */
const STOP = new Set(['{', '}', '"', "'", '#']);

/** Splits one file's text into tokens; throws DispatcherAnyError naming FILE:LINE on bad input. */
export function tokenize(text: string, file: string): Token[] {
  if (text.includes('\0')) {
    throw new DispatcherAnyError([{ file, line: 1, message: 'not a text file (it contains NUL bytes); point at the dispatcher.any itself' }]);
  }
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      i++;
    } else if (SPACE.test(ch)) {
      i++;
    } else if (ch === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else if (ch === '{' || ch === '}') {
      tokens.push({ type: ch === '{' ? 'open' : 'close', line });
      i++;
    } else if (ch === '"' || ch === "'") {
      const start = i + 1;
      let j = start;
      while (j < n && text[j] !== ch && text[j] !== '\n') j += text[j] === '\\' && text[j + 1] !== '\n' ? 2 : 1;
      if (j >= n || text[j] !== ch) {
        throw new DispatcherAnyError([
          { file, line, message: `unterminated ${ch === '"' ? 'double' : 'single'}-quoted value (a quoted value cannot span lines): add the closing ${ch}` },
        ]);
      }
      tokens.push({ type: 'value', text: text.slice(start, j), quote: ch, line });
      i = j + 1;
    } else {
      let j = i;
      while (j < n && !SPACE.test(text[j]!) && (j === i || !STOP.has(text[j]!))) {
        // `${VAR}` inside a bare value: its braces are not blocks.
        const close = text[j] === '$' && text[j + 1] === '{' ? text.indexOf('}', j) : -1;
        j = close > 0 && !text.slice(j, close).includes('\n') ? close + 1 : j + 1;
      }
      const word = text.slice(i, j);
      if (word === '$include') tokens.push({ type: 'include', line });
      else if (ch === '/' && word.length > 1) tokens.push({ type: 'name', text: word.slice(1), line });
      else tokens.push({ type: 'value', text: word, quote: '', line });
      i = j;
    }
  }
  return tokens;
}
