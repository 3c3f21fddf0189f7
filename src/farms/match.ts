/**
 * Glob matching and rule lists, pure and compiled once.
 *
 * Globs are picomatch globs with `dot: true`: `*` stays within one path segment, `**` crosses
 * segments; paths are case-sensitive (contract section 2).
 */
import picomatch from 'picomatch';

export type Matcher = (value: string) => boolean;

/**
 * Compiles a path glob. A leading `/**\/` also matches zero folders, so `/**\/*.html` matches
 * `/index.html` as a user reads it (picomatch alone would demand one folder).
 */
export function compilePathGlob(glob: string): Matcher {
  const main = picomatch(glob, { dot: true });
  if (!glob.startsWith('/**/')) return main;
  const rootLevel = picomatch('/' + glob.slice(4), { dot: true });
  return (value) => main(value) || rootLevel(value);
}

/** Compiles a non-path glob (extension, selectors, parameter names, …). */
export function compileGlob(glob: string, opts: { nocase?: boolean } = {}): Matcher {
  return picomatch(glob, { dot: true, nocase: opts.nocase ?? false });
}

/** Any of several globs. */
export function anyOf(matchers: readonly Matcher[]): Matcher {
  if (matchers.length === 1) return matchers[0]!;
  return (value) => matchers.some((m) => m(value));
}

export interface CompiledRule<T> {
  readonly allow: boolean;
  readonly test: (input: T) => boolean;
}

/** Rule lists: the last item that matches decides; no match = deny. */
export function decide<T>(rules: readonly CompiledRule<T>[], input: T): boolean {
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    if (rule.test(input)) return rule.allow;
  }
  return false;
}

/** Compiles `[{ allow: X } | { deny: X }]` with a per-item compiler. */
export function compileRules<V, T>(
  items: readonly { allow?: V | undefined; deny?: V | undefined }[],
  compileItem: (value: V) => (input: T) => boolean,
): CompiledRule<T>[] {
  return items.map((item) => {
    const allow = item.allow !== undefined;
    return { allow, test: compileItem((allow ? item.allow : item.deny) as V) };
  });
}

/** Path rule lists (`cache.rules`, `cache.invalidate`). */
export function compilePathRules(items: readonly { allow?: string | undefined; deny?: string | undefined }[]): CompiledRule<string>[] {
  return compileRules<string, string>(items, compilePathGlob);
}
