/**
 * The dispatcher.any syntax tree. Every node keeps the file and line it came from, so a warning
 * about an included file points at that file, not at the `$include`.
 */

export interface Loc {
  /** The file as reached from the main file (relative stays relative), for messages. */
  readonly file: string;
  readonly line: number;
}

/** A value: `"double"` (glob), `'single'` (regex) or bare. `${VAR}` is kept verbatim. */
export interface Scalar {
  readonly kind: 'scalar';
  readonly text: string;
  readonly quote: '"' | "'" | '';
  readonly loc: Loc;
}

/** `{ … }`: properties and/or list values, includes already spliced in. */
export interface Block {
  readonly kind: 'block';
  readonly items: readonly Item[];
  readonly loc: Loc;
}

/** `/name value`; `name` is without the leading slash. */
export interface Property {
  readonly kind: 'property';
  readonly name: string;
  readonly value: Scalar | Block;
  readonly loc: Loc;
}

export type Item = Property | Scalar;

export interface ParseProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** A dispatcher.any that cannot be read: every problem with its file and line. */
export class DispatcherAnyError extends Error {
  override name = 'DispatcherAnyError';
  readonly problems: readonly ParseProblem[];

  constructor(problems: ParseProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n'));
    this.problems = problems;
  }
}

export const where = (loc: Loc) => `${loc.file}:${loc.line}`;

/** The properties of a block, in order. */
export function properties(block: Block): Property[] {
  return block.items.filter((i): i is Property => i.kind === 'property');
}

/** The last property of that name (a later one overrides an earlier one, as in Dispatcher). */
export function prop(block: Block, name: string): Property | undefined {
  let found: Property | undefined;
  for (const p of properties(block)) if (p.name === name) found = p;
  return found;
}

/** A property's value as a scalar, or undefined when absent or a block. */
export function scalarOf(block: Block, name: string): Scalar | undefined {
  const p = prop(block, name);
  return p?.value.kind === 'scalar' ? p.value : undefined;
}

/** A property's value as a block, or undefined when absent or a scalar. */
export function blockOf(block: Block, name: string): Block | undefined {
  const p = prop(block, name);
  return p?.value.kind === 'block' ? p.value : undefined;
}

/** The list values of a block (`{ "a" "b" }`), including values of labelled entries (`/0 "a"`). */
export function listValues(block: Block): Scalar[] {
  return block.items.flatMap((i) => (i.kind === 'scalar' ? [i] : i.value.kind === 'scalar' ? [i.value] : []));
}
