/**
 * Import warnings: one per directive that is not carried over (or carried over differently),
 * each naming the file and line it came from.
 */
import type { Loc, Scalar } from './ast.js';

/** The import environment: `${VAR}`s a number, a flag or a `/type` needs are read from it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A rule the import could not carry exactly: narrowed (an allow dropped) or widened (a deny). */
export interface Inexact {
  readonly loc: Loc;
  readonly kind: 'narrowed' | 'widened';
}

export interface ImportWarning {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export const formatWarning = (w: ImportWarning) => `${w.file}:${w.line}: ${w.message}`;

export class Warnings {
  readonly list: ImportWarning[] = [];

  add(loc: Loc, message: string): void {
    // A shared include (one renders file for several farms) would say the same thing twice.
    if (this.list.some((w) => w.file === loc.file && w.line === loc.line && w.message === message)) return;
    this.list.push({ file: loc.file, line: loc.line, message });
  }

  /** `/directive not carried over: why`. */
  skip(item: { readonly name: string; readonly loc: Loc }, why: string): void {
    this.add(item.loc, `/${item.name} not carried over: ${why}`);
  }
}

export const quoted = (s: Scalar) => (s.quote ? `${s.quote}${s.text}${s.quote}` : s.text);

/** `"1"`, `1`, `true` → true; `"0"`, `false` → false; a `${VAR}` from `env`; else undefined. */
export function flagOf(s: Scalar, env: Readonly<Record<string, string | undefined>>): boolean | undefined {
  const text = resolveVars(s.text, env);
  if (text === undefined) return undefined;
  if (/^(1|true|on|yes)$/i.test(text.trim())) return true;
  if (/^(0|false|off|no)$/i.test(text.trim())) return false;
  return undefined;
}

/** A non-negative integer, a `${VAR}` resolved from `env`; else undefined. */
export function numberOf(s: Scalar, env: Readonly<Record<string, string | undefined>>): number | undefined {
  const text = resolveVars(s.text, env)?.trim();
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

export function resolveVars(text: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  let missing = false;
  const out = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) missing = true;
    return v ?? '';
  });
  return missing ? undefined : out;
}

export const hasVar = (s: Scalar) => /\$\{[A-Za-z_][A-Za-z0-9_]*\}/.test(s.text);
