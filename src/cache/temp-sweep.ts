/**
 * The crash sweep: temporary files (and folders a flush moved aside to delete) left by a crash
 * (kill -9 mid-write), found by their TMP_MARKER names. One is abandoned when the process that
 * named it is gone, or when it is older than `maxAgeMs` (a pid can be reused). Runs in the
 * background at start; it walks the docroot once.
 */
import fs from 'node:fs/promises';
import { TMP_MARKER } from './doc-path.js';
import { msOf } from './mtime.js';
import { walkFiles } from './walk.js';

export async function sweepTempFiles(docroot: string, now: () => number, maxAgeMs = 10 * 60_000): Promise<number> {
  let removed = 0;
  for await (const { path: full, entry } of walkFiles(docroot, { dirs: true })) {
    if (!entry.name.startsWith(TMP_MARKER) || !(entry.isFile() || entry.isDirectory())) continue;
    if (await abandoned(full, entry.name, now, maxAgeMs)) {
      await fs.rm(full, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

async function abandoned(full: string, name: string, now: () => number, maxAgeMs: number): Promise<boolean> {
  const pid = Number(/\.(\d+)\.\d+$/.exec(name)?.[1]);
  if (pid === process.pid) return false;
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
  }
  try {
    return now() - msOf(await fs.stat(full)) > maxAgeMs;
  } catch {
    return false;
  }
}
