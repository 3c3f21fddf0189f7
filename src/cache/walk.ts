/**
 * Walks the files (and with `dirs`, the folders) below a folder, depth first, without following symlinks (a link to a folder
 * is yielded as a link, never entered). Unreadable folders are skipped. `maxEntries` bounds the
 * work on a large cache: the walk stops once that many entries were looked at.
 */
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface WalkedFile {
  readonly path: string;
  readonly entry: Dirent;
}

export async function* walkFiles(
  root: string,
  opts: { maxEntries?: number; dirs?: boolean } = {},
): AsyncGenerator<WalkedFile, { complete: boolean }> {
  const max = opts.maxEntries ?? Infinity;
  let seen = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (++seen > max) return { complete: false };
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        // Yielded before it is entered: a consumer that removes it is never walked into.
        if (opts.dirs) yield { path: full, entry };
        stack.push(full);
      } else yield { path: full, entry };
    }
  }
  return { complete: true };
}
