/**
 * `$include "file"` resolution. Relative paths resolve against the including file's folder (then,
 * as a fallback, the main file's folder); `*` and `?` wildcards expand per path segment, sorted,
 * as a shell glob would. AMS farms include absolute paths (`/etc/httpd/conf.dispatcher.d/…`)
 * that do not exist on the machine doing the import: those are re-rooted by trying ever shorter
 * tails of the path against the main file's folder and its parents, and a note says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

export interface Resolved {
  /** Matching files, sorted; paths as the user would read them (relative stays relative). */
  readonly files: string[];
  readonly wildcard: boolean;
  /** Set when the include was found somewhere other than where it points. */
  readonly note?: string;
}

const hasWildcard = (s: string) => /[*?]/.test(s);

/** Expands `pattern` (relative to `base` unless absolute) to existing files, sorted per segment. */
export function expand(pattern: string, base: string): string[] {
  const absolute = path.isAbsolute(pattern);
  const segments = pattern.split(/[\\/]+/).filter((s) => s.length > 0);
  let current: string[] = [absolute ? path.parse(path.resolve(pattern)).root : base];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    const next: string[] = [];
    for (const dir of current) {
      if (!hasWildcard(segment)) {
        next.push(path.join(dir, segment));
        continue;
      }
      const match = picomatch(segment, { dot: false });
      let names: string[];
      try {
        names = fs.readdirSync(dir).filter((n) => match(n)).sort();
      } catch {
        names = [];
      }
      for (const name of names) next.push(path.join(dir, name));
    }
    current = last ? next : next.filter(isDir);
  }
  return current.filter(isFile);
}

/** Resolves one `$include` found in `includer`; `mainDir` is the folder of the main dispatcher.any. */
export function resolveInclude(pattern: string, includer: string, mainDir: string): Resolved {
  const wildcard = hasWildcard(pattern);
  if (pattern.includes('${')) return { files: [], wildcard };
  if (!path.isAbsolute(pattern)) {
    const own = expand(pattern, path.dirname(includer));
    if (own.length > 0 || path.dirname(includer) === mainDir) return { files: own, wildcard };
    const main = expand(pattern, mainDir);
    if (main.length > 0) return { files: main, wildcard, note: `$include "${pattern}" resolved against ${mainDir}` };
    return { files: [], wildcard };
  }
  const direct = expand(pattern, '/');
  if (direct.length > 0) return { files: direct, wildcard };
  const segments = pattern.split('/').filter((s) => s.length > 0);
  for (const root of ancestors(mainDir)) {
    for (let drop = 1; drop < segments.length; drop++) {
      const tail = segments.slice(drop).join('/');
      const files = expand(tail, root);
      if (files.length > 0) {
        return { files, wildcard, note: `absolute $include "${pattern}" read from ${path.join(root, tail)}` };
      }
    }
  }
  return { files: [], wildcard };
}

/** The main file's folder and two parents: a conf.dispatcher.d tree sits next to conf.d. */
function ancestors(dir: string): string[] {
  const out = [dir];
  let d = dir;
  for (let i = 0; i < 2; i++) {
    const up = path.dirname(d);
    if (up === d || path.resolve(up) === path.resolve(d)) break;
    out.push(up);
    d = up;
  }
  return out;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
