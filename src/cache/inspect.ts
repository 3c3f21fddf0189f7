/**
 * What the docroot holds for one document, read only (`farmgate test-url`): the cached file,
 * its sidecars and the `.stat` files that may govern it. Creates, touches and deletes nothing,
 * never follows a symlink at the file itself, and never reads outside the docroot's real path
 * (contract section 2): a folder whose real path leaves it reads as absent.
 *
 * A running farmgate may know more than the disk says: a flush's deletion fences and the
 * `.stat` times it remembers live in its memory (fences.ts, stat-times.ts).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Confinement } from './confine.js';
import { msOf } from './mtime.js';
import { decodeHeaders, decodeTags, HEADERS_SUFFIX, TTL_SUFFIX } from './sidecars.js';

export interface CachedOnDisk {
  readonly absPath: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly headers: readonly [string, string][];
  readonly tags: readonly string[];
  /** The `.ttl` sidecar's mtime (the expiry), when there is one. */
  readonly ttlExpiresMs: number | undefined;
}

export interface DocumentOnDisk {
  /** docroot + docPath, where the file is or would be. */
  readonly absPath: string;
  /** The cached file; undefined when there is none (or it is a folder, a symlink, outside). */
  readonly file: CachedOnDisk | undefined;
  /** What stands there instead of a cached file, if anything. */
  readonly other: 'folder' | 'symlink' | 'outside' | undefined;
  /** The nearest existing `.stat` among `statDirs` (document paths, nearest first). */
  readonly stat: { readonly absPath: string; readonly mtimeMs: number } | undefined;
}

/** A regular file's lstat inside a real folder, or undefined. */
async function regular(realDir: string, name: string): Promise<{ size: number; mtimeMs: number } | undefined> {
  try {
    const st = await fs.lstat(path.join(realDir, name));
    return st.isFile() ? { size: st.size, mtimeMs: msOf(st) } : undefined;
  } catch {
    return undefined;
  }
}

export async function inspectDocument(docroot: string, docPath: string, statDirs: readonly string[]): Promise<DocumentOnDisk> {
  const dir = await Confinement.existing(docroot);
  const absPath = dir ? dir.abs(docPath) : path.join(path.resolve(docroot), docPath);
  if (!dir) return { absPath, file: undefined, other: undefined, stat: undefined };
  const base = path.basename(absPath);
  const realDir = await dir.safeDir(path.dirname(absPath));
  let file: CachedOnDisk | undefined;
  let other: DocumentOnDisk['other'];
  if (realDir === undefined) {
    other = (await fs.lstat(path.dirname(absPath)).then(() => true, () => false)) ? 'outside' : undefined;
  } else {
    const st = await fs.lstat(path.join(realDir, base)).catch(() => undefined);
    if (st?.isSymbolicLink()) other = 'symlink';
    else if (st?.isDirectory()) other = 'folder';
    else if (st?.isFile()) {
      const h = (await regular(realDir, base + HEADERS_SUFFIX)) ? await fs.readFile(path.join(realDir, base + HEADERS_SUFFIX), 'utf8').catch(() => undefined) : undefined;
      const ttl = await regular(realDir, base + TTL_SUFFIX);
      file = { absPath, size: st.size, mtimeMs: msOf(st), headers: decodeHeaders(h), tags: listedTags(decodeTags(h)), ttlExpiresMs: ttl?.mtimeMs };
    }
  }
  let stat: DocumentOnDisk['stat'];
  for (const d of statDirs) {
    const real = await dir.safeDir(dir.abs(d));
    const found = real && (await regular(real, '.stat'));
    if (found) {
      stat = { absPath: path.join(dir.abs(d), '.stat'), mtimeMs: found.mtimeMs };
      break;
    }
  }
  return { absPath, file, other, stat };
}

/** The strings a `.h` lists as tags, for display (what makes a valid tag is tags/journal.ts's concern). */
function listedTags(raw: unknown): readonly string[] {
  return Array.isArray(raw) ? raw.filter((t): t is string => typeof t === 'string') : [];
}
