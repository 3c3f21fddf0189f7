/**
 * The sidecars of a cached file `P` (contract section 3): `P.h` holds the headers replayed on a
 * hit, as JSON with a version field (http-cache-semantics `toObject()` → `{ v: 1, … }`); `P.ttl`
 * is an empty file whose mtime is the expiry (`enableTTL`), absent when the response named none.
 * The format is pure (encode/decode); the file-system part reads and writes both beside `P`.
 */
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { TMP_MARKER } from './doc-path.js';
import { msOf } from './mtime.js';

export const HEADERS_SUFFIX = '.h';
export const TTL_SUFFIX = '.ttl';
const HEADERS_FILE_VERSION = 1;

type Headers = readonly (readonly [string, string])[];

/**
 * `.h` content for a list of headers, and the file's cache tags when it has any (contract section
 * 4a): `{"v":1,"headers":[…],"tags":[…]}`. The tags are the source of truth the tag index is
 * rebuilt from after a crash (tags/tag-store.ts); readers that do not know `tags` ignore it.
 */
export function encodeHeaders(headers: Headers, tags: readonly string[] = []): string {
  return JSON.stringify(tags.length > 0 ? { v: HEADERS_FILE_VERSION, headers, tags } : { v: HEADERS_FILE_VERSION, headers });
}

/**
 * `.h` content → the `tags` it lists, as written (none when absent or unreadable). The store only
 * carries them; what makes a valid tag is the tags module's business (tags/journal.ts `checkTags`,
 * applied where tags are trusted: the index rebuild), so `cache/` never imports `tags/`.
 */
export function decodeTags(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as { v?: unknown; tags?: unknown };
    return parsed.v === HEADERS_FILE_VERSION ? parsed.tags : undefined;
  } catch {
    return undefined;
  }
}

/** `.h` content → headers; an unreadable or unknown-version file stores none (the body alone is served). */
export function decodeHeaders(text: string | undefined): [string, string][] {
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as { v?: unknown; headers?: unknown };
    if (parsed.v === HEADERS_FILE_VERSION && Array.isArray(parsed.headers)) {
      return parsed.headers.filter(
        (h): h is [string, string] => Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string',
      );
    }
  } catch {
    /* not JSON: no stored headers */
  }
  return [];
}

/** Reads both sidecars of the file at `absPath`. */
export async function readSidecars(absPath: string): Promise<{ headers: [string, string][]; ttlExpiresMs: number | undefined }> {
  // farmgate writes sidecars as plain files; one that is a symlink is not ours and is never
  // followed (it could point outside the docroot): O_NOFOLLOW fails on it, lstat sees the link.
  const [text, ttl] = await Promise.all([
    fs.readFile(absPath + HEADERS_SUFFIX, { encoding: 'utf8', flag: fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW }).catch(() => undefined),
    fs.lstat(absPath + TTL_SUFFIX).then((st) => (st.isFile() ? msOf(st) : undefined), () => undefined),
  ]);
  return { headers: decodeHeaders(text), ttlExpiresMs: ttl };
}

/** Writes (atomically) the sidecars of the file at `absPath`; removes a `.ttl` when there is no expiry. */
export async function writeSidecars(absPath: string, headers: Headers, ttlExpiresMs: number | undefined, tags: readonly string[] = []): Promise<void> {
  await writeAtomic(absPath + HEADERS_SUFFIX, encodeHeaders(headers, tags));
  if (ttlExpiresMs !== undefined) {
    await writeAtomic(absPath + TTL_SUFFIX, '', ttlExpiresMs);
  } else {
    await fs.rm(absPath + TTL_SUFFIX, { force: true });
  }
}

let tmpCounter = 0;

/**
 * A temporary name beside `absPath` that no request can map to (doc-path.ts refuses TMP_MARKER),
 * with our pid so the crash sweep (temp-sweep.ts) knows whose it is.
 */
export function tempName(absPath: string): string {
  return path.join(path.dirname(absPath), `${TMP_MARKER}${path.basename(absPath)}.${process.pid}.${++tmpCounter}`);
}

async function writeAtomic(file: string, content: string, mtimeMs?: number): Promise<void> {
  const tmp = tempName(file);
  await fs.writeFile(tmp, content);
  if (mtimeMs !== undefined) await fs.utimes(tmp, new Date(mtimeMs), new Date(mtimeMs));
  await fs.rename(tmp, file);
}
