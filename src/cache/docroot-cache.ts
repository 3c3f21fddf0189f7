/**
 * The docroot store: every read, write, touch and delete of a docroot goes through here, so the
 * hot layer and the `.stat` times in memory always agree with what farmgate did to the disk.
 *
 * On-disk layout (contract section 3): the cached file for document path P is `docroot + P`;
 * `P.h` holds the replayed headers (JSON with a version field), `P.ttl` an empty file whose mtime
 * is the expiry, `.stat` files mark flushes. Temporary files are named `.fgtmp-…` in the target's
 * folder (rename is atomic only within a file system) and are refused to requests.
 *
 * Symlinks: nothing is read, written, touched or deleted outside the docroot's real path. Each
 * folder is resolved with realpath before use; a folder whose real path leaves the docroot is
 * treated as absent.
 */
import { createWriteStream, statSync, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CachedFile, HotLayer } from './hot-layer.js';
import { TMP_MARKER, joinDocroot } from './doc-path.js';
import { statLookupOrder } from './stat-files.js';
import { walkFiles } from './walk.js';
import { DeletionFences } from './fences.js';
import { CacheWrite } from './cache-write.js';

export { CacheWrite };

export const HEADERS_FILE_VERSION = 1;

export interface StoredHeadersFile {
  v: typeof HEADERS_FILE_VERSION;
  headers: [string, string][];
}

export interface DocrootCacheOptions {
  readonly hot: HotLayer;
  readonly now?: () => number;
  /** Called with every I/O failure that was absorbed (logged and counted by the caller). */
  readonly onError?: (op: string, docPath: string, err: unknown) => void;
}

interface StatTime {
  mtimeMs: number | undefined;
  checkedAt: number;
}

let tmpCounter = 0;

/** Errors that say the disk, not the request, is the problem. */
const DISK_FAULTS = new Set(['EROFS', 'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EIO']);
const DEGRADED_MS = 5000;

export class DocrootCache {
  readonly docroot: string;
  readonly realDocroot: string;
  readonly #hot: HotLayer;
  readonly #now: () => number;
  readonly #onError: (op: string, docPath: string, err: unknown) => void;
  /** abs path of a `.stat` → its mtime (undefined = absent) and when that was read */
  readonly #stats = new Map<string, StatTime>();
  #degradedUntil = 0;
  readonly #fences: DeletionFences;

  private constructor(docroot: string, realDocroot: string, opts: DocrootCacheOptions) {
    this.docroot = docroot;
    this.realDocroot = realDocroot;
    this.#hot = opts.hot;
    this.#now = opts.now ?? Date.now;
    this.#onError = opts.onError ?? (() => {});
    this.#fences = new DeletionFences(docroot, this.#now);
  }

  /** Creates the docroot folder if needed and resolves its real path. */
  static async open(docroot: string, opts: DocrootCacheOptions): Promise<DocrootCache> {
    await fs.mkdir(docroot, { recursive: true });
    const real = await fs.realpath(docroot);
    return new DocrootCache(path.resolve(docroot), real, opts);
  }

  abs(docPath: string): string {
    return joinDocroot(this.docroot, docPath);
  }

  /** Is a real path inside the real docroot? */
  #inside(real: string): boolean {
    return real === this.realDocroot || real.startsWith(this.realDocroot + path.sep);
  }

  /** The folder's real path if it exists and stays inside the docroot, else undefined. */
  async #safeDir(absDir: string): Promise<string | undefined> {
    try {
      const real = await fs.realpath(absDir);
      return this.#inside(real) ? real : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * mkdir -p for a folder inside the docroot, refusing to create anything below an existing
   * folder whose real path leaves the docroot. 'collision' when a cached file stands where a
   * folder must be (`/a.png` cached, `/a.png/_jcr_content/…` asked for): nothing is created.
   */
  async #ensureDir(absDir: string): Promise<'ok' | 'collision' | 'refused'> {
    let existing = absDir;
    while (true) {
      try {
        const st = await fs.stat(existing);
        if (!st.isDirectory()) return 'collision';
        break;
      } catch {
        const parent = path.dirname(existing);
        if (parent === existing) return 'refused';
        existing = parent;
      }
    }
    if (!(await this.#safeDir(existing))) return 'refused';
    if (existing !== absDir) {
      try {
        await fs.mkdir(absDir, { recursive: true });
      } catch (err) {
        // A file was stored on the way meanwhile.
        if (isCollision(err)) return 'collision';
        throw err;
      }
    }
    return 'ok';
  }

  // ---------------------------------------------------------------- reading

  /**
   * The cached file for a document path: from the hot layer when it was checked against the
   * disk within `checkIntervalMs`, else from disk. Undefined when not cached.
   */
  async lookup(docPath: string, checkIntervalMs: number): Promise<CachedFile | undefined> {
    const absPath = this.abs(docPath);
    const now = this.#now();
    const hot = this.#hot.get(absPath);
    if (hot && this.#fenced(hot)) return undefined;
    if (hot && now - hot.checkedAt < checkIntervalMs) return hot;
    if (hot) {
      try {
        const st = await fs.stat(absPath);
        if (st.isFile() && msOf(st) === hot.mtimeMs && st.size === hot.size) {
          hot.checkedAt = now;
          return hot;
        }
      } catch {
        /* gone: fall through to a fresh read */
      }
      this.#hot.delete(absPath);
    }
    return this.#load(docPath, absPath, now);
  }

  /**
   * The hot-layer entry of an absolute path for the HIT fast path (serve/fast-hit.ts). When its
   * disk check is due, the check is made here and now with a synchronous stat: the file was
   * served within the interval, so its inode is in the kernel's cache and the stat costs a few
   * microseconds, against ~25 us of CPU for a promise stat plus the full request path
   * (measured; at 1,000 hot files that was 10 % of farmgate's CPU under load). Undefined when
   * not hot or changed on disk (the full path then reloads it).
   */
  peekAbs(absPath: string, checkIntervalMs: number): CachedFile | undefined {
    const hot = this.#hot.get(absPath);
    if (!hot || this.#fenced(hot)) return undefined;
    const now = this.#now();
    if (now - hot.checkedAt < checkIntervalMs) return hot;
    let st;
    try {
      st = statSync(absPath, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (!st || !st.isFile() || msOf(st) !== hot.mtimeMs || st.size !== hot.size) return undefined;
    hot.checkedAt = now;
    return hot;
  }

  /** The `.stat` files that may govern a document path, nearest first (absolute paths). */
  statPaths(docPath: string, statfileslevel: number): string[] {
    return statLookupOrder(docPath, statfileslevel).map((dir) => path.join(this.docroot, dir, '.stat'));
  }

  /** peekNearestStat() over paths from statPaths(): no allocation on the fast path. */
  peekStatPaths(paths: readonly string[], checkIntervalMs: number): number | undefined | 'check' {
    const now = this.#now();
    for (let i = 0; i < paths.length; i++) {
      const t = this.#stats.get(paths[i]!);
      if (!t || now - t.checkedAt >= checkIntervalMs) return 'check';
      if (t.mtimeMs !== undefined) return t.mtimeMs;
    }
    return undefined;
  }

  /** Synchronous hot-layer peek for the fast path; undefined when a disk check is due. */
  peek(docPath: string, checkIntervalMs: number): CachedFile | undefined {
    const hot = this.#hot.get(this.abs(docPath));
    return hot && this.#now() - hot.checkedAt < checkIntervalMs && !this.#fenced(hot) ? hot : undefined;
  }

  /**
   * Is this copy older than a flush that deleted its path? Then it is gone, whatever the disk
   * says: a folder listing taken while other files are renamed in (tmpfs, busy folders) can miss
   * a name, so the deletion itself is cleanup and this check is what a flush guarantees.
   */
  #fenced(entry: CachedFile): boolean {
    if (this.#fences.size === 0 || entry.mtimeMs > this.#fences.lastDeleted(entry.absPath)) return false;
    this.#hot.delete(entry.absPath);
    return true;
  }

  async #load(docPath: string, absPath: string, now: number): Promise<CachedFile | undefined> {
    let st;
    try {
      st = await fs.stat(absPath);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    // A file whose render started before a flush deleted its path is a leftover (see #fenced).
    if (msOf(st) <= this.lastDeletedAbs(absPath)) return undefined;
    if (!(await this.#safeDir(path.dirname(absPath)))) return undefined;
    const [headers, ttlExpiresMs] = await Promise.all([this.#readHeaders(absPath), this.#readTtl(absPath)]);
    let body: Buffer | undefined;
    if (st.size <= this.#hot.maxEntryBytes) {
      try {
        body = await fs.readFile(absPath);
      } catch {
        return undefined;
      }
      if (body.length !== st.size) {
        // Replaced while we read it: take the next request's read instead.
        return undefined;
      }
    }
    const entry: CachedFile = { absPath, mtimeMs: msOf(st), size: st.size, headers, ttlExpiresMs, body, checkedAt: now };
    this.#hot.set(entry);
    return entry;
  }

  async #readHeaders(absPath: string): Promise<[string, string][]> {
    try {
      const parsed = JSON.parse(await fs.readFile(absPath + '.h', 'utf8')) as Partial<StoredHeadersFile>;
      if (parsed.v === HEADERS_FILE_VERSION && Array.isArray(parsed.headers)) {
        return parsed.headers.filter(
          (h): h is [string, string] => Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string',
        );
      }
    } catch {
      /* no or unreadable .h: the body alone is served */
    }
    return [];
  }

  async #readTtl(absPath: string): Promise<number | undefined> {
    try {
      return msOf(await fs.stat(absPath + '.ttl'));
    } catch {
      return undefined;
    }
  }

  /**
   * The mtime of the `.stat` that governs a document path (nearest existing one from its folder
   * capped at statfileslevel, walking up), or undefined when none exists.
   */
  async nearestStat(docPath: string, statfileslevel: number, checkIntervalMs: number): Promise<number | undefined> {
    const now = this.#now();
    for (const dir of statLookupOrder(docPath, statfileslevel)) {
      const abs = path.join(this.docroot, dir, '.stat');
      let t = this.#stats.get(abs);
      if (!t || now - t.checkedAt >= checkIntervalMs) {
        t = { mtimeMs: await statMtime(abs), checkedAt: now };
        this.#stats.set(abs, t);
      }
      if (t.mtimeMs !== undefined) return t.mtimeMs;
    }
    return undefined;
  }

  /** Synchronous variant for the fast path; 'check' when a disk read is due. */
  peekNearestStat(docPath: string, statfileslevel: number, checkIntervalMs: number): number | undefined | 'check' {
    const now = this.#now();
    for (const dir of statLookupOrder(docPath, statfileslevel)) {
      const t = this.#stats.get(path.join(this.docroot, dir, '.stat'));
      if (!t || now - t.checkedAt >= checkIntervalMs) return 'check';
      if (t.mtimeMs !== undefined) return t.mtimeMs;
    }
    return undefined;
  }

  createReadStream(absPath: string) {
    return fs.open(absPath, 'r').then((h) => h.createReadStream());
  }

  // ---------------------------------------------------------------- writing

  /**
   * Starts an atomic write of a cached file. The file's mtime will be `startedAt`, the moment
   * its render request started, so a flush landing meanwhile leaves it stale.
   */
  beginWrite(docPath: string, startedAt: number): CacheWrite {
    return new CacheWrite(this, docPath, startedAt);
  }

  /** @internal used by CacheWrite */
  async openTemp(docPath: string): Promise<{ tmp: string; stream: WriteStream } | undefined> {
    const absPath = this.abs(docPath);
    const dir = path.dirname(absPath);
    const ready = await this.#ensureDir(dir);
    // A file/folder collision is not a fault: the response is served (MISS) and not stored
    // (contract section 3). A folder standing where the file must be is the other half.
    if (ready === 'collision' || (await isDirectory(absPath))) return undefined;
    if (ready === 'refused') throw new Error(`folder of ${docPath} is outside the docroot`);
    const tmp = path.join(dir, `${TMP_MARKER}${path.basename(absPath)}.${process.pid}.${++tmpCounter}`);
    const stream = createWriteStream(tmp, { flags: 'wx' });
    return { tmp, stream };
  }

  /** @internal used by CacheWrite: moves a completed temp file into place with its sidecars. */
  async install(
    docPath: string,
    tmp: string,
    startedAt: number,
    headers: [string, string][],
    ttlExpiresMs: number | undefined,
    body: Buffer | undefined,
    size: number,
  ): Promise<boolean> {
    const absPath = this.abs(docPath);
    const when = new Date(startedAt);
    await fs.utimes(tmp, when, when);
    if (this.lastDeleted(docPath) >= startedAt) {
      // A flush deleted (or fenced) this file after its render started: the body predates it.
      await fs.rm(tmp, { force: true });
      return false;
    }
    const hFile: StoredHeadersFile = { v: HEADERS_FILE_VERSION, headers };
    await writeAtomic(absPath + '.h', JSON.stringify(hFile));
    if (ttlExpiresMs !== undefined) {
      await writeAtomic(absPath + '.ttl', '');
      const exp = new Date(ttlExpiresMs);
      await fs.utimes(absPath + '.ttl', exp, exp);
    } else {
      await fs.rm(absPath + '.ttl', { force: true });
    }
    try {
      await fs.rename(tmp, absPath);
    } catch (err) {
      if (!isCollision(err)) throw err;
      // A folder was created where the file must go while it was written: not stored.
      await Promise.all([tmp, absPath + '.h', absPath + '.ttl'].map((f) => fs.rm(f, { force: true })));
      return false;
    }
    if (this.lastDeleted(docPath) >= startedAt) {
      // The flush landed during the writes above: take the file back out before anyone loads it
      // (#load refuses it meanwhile; the hot layer never sees it).
      await fs.rm(absPath, { force: true });
      return false;
    }
    this.#hot.set({ absPath, mtimeMs: startedAt, size, headers, ttlExpiresMs, body, checkedAt: this.#now() });
    return true;
  }

  reportError(op: string, docPath: string, err: unknown): void {
    if (DISK_FAULTS.has((err as NodeJS.ErrnoException)?.code ?? '')) this.#degradedUntil = this.#now() + DEGRADED_MS;
    this.#onError(op, docPath, err);
  }

  /**
   * False for a while after a write failed because the disk refused it (read-only, full, no
   * permission): misses then go straight to the render (X-Cache: PASS) instead of trying, and
   * failing, to store every page. Writing is tried again after DEGRADED_MS.
   */
  get writable(): boolean {
    return this.#now() >= this.#degradedUntil;
  }

  get hot(): HotLayer {
    return this.#hot;
  }

  // ---------------------------------------------------------------- flushing

  /**
   * Touches (creates if missing) the `.stat` in a folder of the docroot, setting its mtime to
   * `at`. Returns the absolute path touched, or undefined when the folder is outside the docroot.
   */
  async touchStat(dirDocPath: string, at: number): Promise<string | undefined> {
    const absDir = dirDocPath === '/' ? this.docroot : this.abs(dirDocPath);
    if ((await this.#ensureDir(absDir)) !== 'ok') return undefined;
    const file = path.join(absDir, '.stat');
    const when = new Date(at);
    const handle = await fs.open(file, 'a');
    await handle.close();
    await fs.utimes(file, when, when);
    this.#stats.set(file, { mtimeMs: at, checkedAt: this.#now() });
    return file;
  }

  /** Names in a folder of the docroot (empty when absent or outside). */
  async list(dirDocPath: string): Promise<string[]> {
    const absDir = dirDocPath === '/' ? this.docroot : this.abs(dirDocPath);
    if (!(await this.#safeDir(absDir))) return [];
    try {
      return await fs.readdir(absDir);
    } catch {
      return [];
    }
  }

  /**
   * Entries of a folder of the docroot with their type, without following symlinks (a link is
   * never a directory here). Empty when the folder is absent or outside the docroot.
   */
  /**
   * listEntries() plus whether the folder stayed unchanged while it was read (its mtime, in
   * nanoseconds, is the same before and after). A listing taken while names were added or
   * removed may miss a name that was there all along.
   */
  async listEntriesStable(dirDocPath: string): Promise<{ entries: { name: string; isDirectory: boolean }[]; stable: boolean }> {
    const absDir = dirDocPath === '/' ? this.docroot : this.abs(dirDocPath);
    const mtime = () => fs.stat(absDir, { bigint: true }).then((st) => st.mtimeNs, () => -1n);
    const before = await mtime();
    const entries = await this.listEntries(dirDocPath);
    return { entries, stable: before === (await mtime()) };
  }

  async listEntries(dirDocPath: string): Promise<{ name: string; isDirectory: boolean }[]> {
    const absDir = dirDocPath === '/' ? this.docroot : this.abs(dirDocPath);
    if (!(await this.#safeDir(absDir))) return [];
    try {
      const entries = await fs.readdir(absDir, { withFileTypes: true });
      return entries.map((e) => ({ name: e.name, isDirectory: e.isDirectory() }));
    } catch {
      return [];
    }
  }

  /**
   * Deletes a file or a folder tree at a document path (never following symlinks: a link is
   * removed, not its target). Returns true when something was deleted.
   */
  async remove(docPath: string, opts: { notNewerThan?: number } = {}): Promise<boolean> {
    const absPath = this.abs(docPath);
    if (absPath === this.docroot) throw new Error('refusing to delete the docroot itself');
    if (!(await this.#safeDir(path.dirname(absPath)))) return false;
    let st;
    try {
      st = await fs.lstat(absPath);
    } catch {
      return false;
    }
    // A copy rendered after the given time is newer than the flush asking: keep it.
    if (opts.notNewerThan !== undefined && msOf(st) > opts.notNewerThan) return false;
    await fs.rm(absPath, { recursive: true, force: true });
    this.#fences.note(st.isDirectory() ? absPath + path.sep : absPath);
    if (st.isDirectory()) this.#forgetTree(absPath);
    else {
      this.#hot.delete(absPath);
      if (path.basename(absPath) === '.stat') this.#stats.delete(absPath);
    }
    return true;
  }

  /**
   * Removes temporary files left by a crash (kill -9 mid-write): those whose writer process is
   * gone, or that are older than `maxAgeMs` (a pid can be reused). Runs in the background at
   * start; it walks the docroot once. Returns how many it removed.
   */
  async sweepTempFiles(maxAgeMs = 10 * 60_000): Promise<number> {
    let removed = 0;
    for await (const { path: full, entry } of walkFiles(this.docroot)) {
      if (entry.isFile() && entry.name.startsWith(TMP_MARKER) && (await this.#abandoned(full, entry.name, maxAgeMs))) {
        await fs.rm(full, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async #abandoned(full: string, name: string, maxAgeMs: number): Promise<boolean> {
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
      return this.#now() - msOf(await fs.stat(full)) > maxAgeMs;
    } catch {
      return false;
    }
  }

  /**
   * Marks what a flush is about to delete, whether or not it is cached yet (see FlushPlan.fences):
   * `H` a file, `H.` every `base(H).*`, `F/` a folder tree.
   */
  fence(keys: readonly string[]): void {
    for (const key of keys) {
      if (key.endsWith('/')) this.#fences.note((key === '/' ? this.docroot : this.abs(key.slice(0, -1))) + path.sep);
      else if (key.endsWith('.')) this.#fences.note(this.abs(key.slice(0, -1)) + '.');
      else this.#fences.note(this.abs(key));
    }
  }

  /** When a flush last deleted or fenced this document (see DeletionFences), or 0. */
  lastDeleted(docPath: string): number {
    return this.#fences.size === 0 ? 0 : this.#fences.lastDeleted(this.abs(docPath));
  }

  /** lastDeleted() for an absolute path inside the docroot. */
  lastDeletedAbs(absPath: string): number {
    return this.#fences.lastDeleted(absPath);
  }

  #forgetTree(absDir: string): void {
    this.#hot.deleteUnder(absDir);
    const prefix = absDir + path.sep;
    for (const key of this.#stats.keys()) if (key.startsWith(prefix)) this.#stats.delete(key);
  }
}

/**
 * A file's mtime in whole milliseconds. Times are set with utimes() from millisecond values and
 * read back through floating-point seconds (…009.999 for …010), so every comparison with a time
 * farmgate set (render start, flush time) uses this rounding.
 */
export function msOf(st: { mtimeMs: number }): number {
  return Math.round(st.mtimeMs);
}

async function statMtime(abs: string): Promise<number | undefined> {
  try {
    return msOf(await fs.stat(abs));
  } catch {
    return undefined;
  }
}

async function writeAtomic(file: string, content: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `${TMP_MARKER}${path.basename(file)}.${process.pid}.${++tmpCounter}`);
  await fs.writeFile(tmp, content);
  await fs.rename(tmp, file);
}

/** A file where a folder must be, or a folder where a file must be. */
function isCollision(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY';
}

async function isDirectory(absPath: string): Promise<boolean> {
  try {
    return (await fs.lstat(absPath)).isDirectory();
  } catch {
    return false;
  }
}
