/**
 * dispatcher.any parser: blocks, `/name value` properties, list values and `$include`s spliced in
 * place (an include is textual in Dispatcher; here the included file's items join the block that
 * holds the `$include`). Include loops and missing includes are errors naming FILE:LINE.
 *
 * @example
 *   const { root, notes } = parseDispatcherAny('conf.dispatcher.d/dispatcher.any');
 *   blockOf(root, 'farms');
 */
import fs from 'node:fs';
import path from 'node:path';
import { DispatcherAnyError, type Block, type Item, type Loc, type ParseProblem } from './ast.js';
import { resolveInclude } from './include.js';
import { tokenize, type Token } from './lexer.js';

export interface ParseResult {
  /** The main file's top level as one block. */
  readonly root: Block;
  /** Every file read, in order. */
  readonly files: readonly string[];
  /** Not errors: includes found elsewhere than they point, wildcards that matched nothing. */
  readonly notes: readonly ParseProblem[];
}

export interface ParseOptions {
  /** Reads a file; default: fs.readFileSync as UTF-8. */
  readonly read?: (file: string) => string;
}

/** Parses `file` and everything it includes. Throws DispatcherAnyError on the first problem. */
export function parseDispatcherAny(file: string, opts: ParseOptions = {}): ParseResult {
  const read = opts.read ?? ((f: string) => fs.readFileSync(f, 'utf8'));
  const mainDir = path.dirname(file);
  const files: string[] = [];
  const notes: ParseProblem[] = [];

  const fail = (loc: Loc, message: string): never => {
    throw new DispatcherAnyError([{ file: loc.file, line: loc.line, message }]);
  };

  /** Parses one file's top level; `stack` holds the files being included, for loop detection. */
  function parseFile(f: string, stack: readonly string[], from?: Loc): Item[] {
    let text: string;
    try {
      text = read(f);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      return fail(from ?? { file: f, line: 1 }, `cannot read ${f}: ${why}`);
    }
    files.push(f);
    const tokens = tokenize(text, f);
    const cursor = { i: 0 };
    const items = parseItems(tokens, cursor, f, [...stack, path.resolve(f)], undefined);
    return items;
  }

  function parseItems(tokens: Token[], cursor: { i: number }, f: string, stack: readonly string[], opened: Loc | undefined): Item[] {
    const items: Item[] = [];
    for (;;) {
      const t = tokens[cursor.i++];
      if (!t) {
        if (opened) fail(opened, `block opened here is never closed: add the missing "}" (reached the end of ${f})`);
        return items;
      }
      const loc = { file: f, line: t.line };
      switch (t.type) {
        case 'close':
          if (!opened) fail(loc, 'unexpected "}" with no block open: remove it or add the missing "{" above');
          return items;
        case 'open':
          fail(loc, 'unexpected "{": a block needs a /name before it (e.g. /0001 { … })');
          break;
        case 'value':
          items.push({ kind: 'scalar', text: t.text, quote: t.quote, loc });
          break;
        case 'name': {
          const v = tokens[cursor.i];
          if (v?.type === 'open') {
            cursor.i++;
            const inner = parseItems(tokens, cursor, f, stack, loc);
            items.push({ kind: 'property', name: t.text, value: { kind: 'block', items: inner, loc }, loc });
          } else if (v?.type === 'value') {
            cursor.i++;
            items.push({ kind: 'property', name: t.text, value: { kind: 'scalar', text: v.text, quote: v.quote, loc: { file: f, line: v.line } }, loc });
          } else {
            fail(loc, `/${t.text} has no value: give it a value ("…") or a block ({ … })`);
          }
          break;
        }
        case 'include': {
          const v = tokens[cursor.i++];
          if (v?.type !== 'value') fail(loc, '$include needs a quoted file name, e.g. $include "farms/*.any"');
          items.push(...include((v as { text: string }).text, loc, stack));
          break;
        }
      }
    }
  }

  function include(pattern: string, loc: Loc, stack: readonly string[]): Item[] {
    const found = resolveInclude(pattern, loc.file, mainDir);
    if (found.note) notes.push({ ...loc, message: `note: ${found.note}` });
    if (found.files.length === 0) {
      if (pattern.includes('${')) fail(loc, `$include "${pattern}" uses a variable: replace it with the path before importing`);
      if (found.wildcard) {
        notes.push({ ...loc, message: `note: $include "${pattern}" matches no file; nothing included` });
        return [];
      }
      fail(loc, `$include "${pattern}": no such file (looked relative to ${path.dirname(loc.file)}); fix the path or copy the file there`);
    }
    const items: Item[] = [];
    for (const f of found.files) {
      const abs = path.resolve(f);
      if (stack.includes(abs)) {
        const chain = [...stack.slice(stack.indexOf(abs)), abs].map((s) => path.basename(s)).join(' → ');
        fail(loc, `$include loop: ${chain}; remove one of these includes`);
      }
      items.push(...parseFile(f, stack, loc));
    }
    return items;
  }

  const items = parseFile(file, []);
  return { root: { kind: 'block', items, loc: { file, line: 1 } }, files, notes };
}
