/**
 * Start-up check of the docroots: each must exist (it is created if missing) and take a write,
 * so that a read-only mount, a file standing where the folder should be or missing permissions
 * stop `farmgate serve` with one line that says what to do, instead of every miss degrading to
 * PASS at run time (docs/errors.md, FG_DOCROOT_UNWRITABLE).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { AppError } from '../errors.js';
import { TMP_MARKER } from './doc-path.js';

const REASONS: Record<string, string> = {
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  ENOTDIR: 'a file stands where a folder of its path should be',
  EEXIST: 'a file stands where the folder should be',
};

/** Creates each docroot if needed and proves it writable with a probe file; throws FG_DOCROOT_UNWRITABLE. */
export async function assertDocrootsWritable(config: Config): Promise<void> {
  const seen = new Set<string>();
  for (const [i, farm] of config.farms.entries()) {
    if (seen.has(farm.docroot)) continue;
    seen.add(farm.docroot);
    try {
      await fs.mkdir(farm.docroot, { recursive: true });
      // A temporary-file name: never reachable by a request, and swept if a crash leaves it.
      const probe = path.join(farm.docroot, `${TMP_MARKER}probe.${process.pid}.0`);
      await fs.writeFile(probe, '');
      await fs.rm(probe, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const why = REASONS[code] ?? (code || (err as Error).message);
      throw new AppError(
        'FG_DOCROOT_UNWRITABLE',
        `docroot ${farm.docroot} of farm ${farm.name} is not writable (${why}${code && REASONS[code] ? `, ${code}` : ''}): fix its owner, permissions or mount, or point farms.${i}.docroot at a writable folder`,
        { cause: err },
      );
    }
  }
}
