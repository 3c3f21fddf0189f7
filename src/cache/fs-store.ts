/**
 * The file-system store: a docroot as Dispatcher and nginx see it. Every read, write, touch and
 * delete farmgate makes in a docroot goes through here, so the hot layer and the `.stat` times in
 * memory always agree with what farmgate did to the disk.
 *
 * On-disk layout (contract section 3): the cached file for document path P is `docroot + P`, its
 * sidecars `P.h` and `P.ttl` (sidecars.ts), `.stat` files mark flushes, temporary files are named
 * `.fgtmp-…` in the target's folder (rename is atomic only within a file system) and are refused to
 * requests. Nothing outside the docroot's real path is touched (confine.ts).
 */
import { createWriteStream, statSync, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FileCacheWrite, type WriteTarget } from './cache-write.js';
import { Confinement, isCollision } from './confine.js';
import { DeletionFences } from './fences.js';
import { FolderLocks } from './folder-locks.js';
import type { HotLayer } from './hot-layer.js';
import { msOf } from './mtime.js';
import { HEADERS_SUFFIX, readSidecars, tempName, TTL_SUFFIX, writeSidecars } from './sidecars.js';
import { statLookupOrder } from './stat-files.js';
import { StatTimes } from './stat-times.js';
import type { CachedFile, CacheStore, CacheWrite, ListingEntry, StatLookup, StoredMeta, StoreObserver } from './store.js';
import { sweepTempFiles } from './temp-sweep.js';

export interface FsStoreOptions {
  /** The in-memory copy of recently served files (shared by every store: one memory budget). */
  readonly hot: HotLayer;
  readonly now?: () => number;
  /** Called with every I/O failure that was absorbed (logged and counted by the caller). */
  readonly onError?: (op: string, docPath: string, err: unknown) => void;
  readonly observer?: StoreObserver;
  /** How long fills pass without trying to write after the disk refused a write (default 5000). */
  readonly degradedMs?: number;
}

/** Files whose deletes (with sidecars) are in flight at once within one folder. */
const REMOVE_BATCH = 32;

/** Errors that say the disk, not the request, is the problem. */
const DISK_FAULTS = new Set(['EROFS', 'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EIO']);

export class FsStore implements CacheStore {
  readonly #dir: Confinement;
  readonly #hot: HotLayer;
  readonly #now: () => number;
  readonly #onError: (op: string, docPath: string, err: unknown) => void;
  readonly #observer: StoreObserver;
  readonly #degradedMs: number;
  readonly #stats: StatTimes;
  readonly #fences: DeletionFences;
  readonly #locks = new FolderLocks();
  /** Installs past their fence check and not yet renamed: absolute path → completion. */
  readonly #installing = new Map<string, Promise<unknown>>();
  readonly #hotPaths = new Map<string, string>();
  #degradedUntil = 0;

  private constructor(dir: Confinement, opts: FsStoreOptions) {
    this.#dir = dir;
    this.#hot = opts.hot;
    this.#now = opts.now ?? Date.now;
    this.#onError = opts.onError ?? (() => {});
    this.#observer = opts.observer ?? {};
    this.#degradedMs = opts.degradedMs ?? 5000;
    this.#stats = new StatTimes(this.#now, (file) => fs.stat(file).then(msOf, () => undefined));
    this.#fences = new DeletionFences(dir.docroot, this.#now);
    this.#writeTarget = this.#makeWriteTarget();
  }

  /** Creates the docroot folder if needed and resolves its real path. */
  static async open(docroot: string, opts: FsStoreOptions): Promise<FsStore> {
    return new FsStore(await Confinement.open(docroot), opts);
  }

  get docroot(): string {
    return this.#dir.docroot;
  }

  /** Removes temporary files left by a crash (temp-sweep.ts); how many. */
  sweepTempFiles(maxAgeMs?: number): Promise<number> {
    return sweepTempFiles(this.#dir.docroot, this.#now, maxAgeMs);
  }

  // ---------------------------------------------------------------- serving

  /**
   * When a disk check is due it is made here and now with a synchronous stat: the file was served
   * within the interval, so its inode is in the kernel's cache and the stat costs a few
   * microseconds, against ~25 us of CPU for a promise stat plus the full request path (measured;
   * at 1,000 hot files that was 10 % of farmgate's CPU under load).
   */
  peek(docPath: string, maxAgeMs: number): CachedFile | undefined {
    const absPath = this.#hotPath(docPath);
    const hot = this.#hot.get(absPath);
    if (!hot || this.#fenced(hot)) return undefined;
    const now = this.#now();
    if (now - hot.checkedAt < maxAgeMs) return hot;
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

  /**
   * The absolute path of a document on the HIT path, memoised: the same string object every time,
   * so the hot layer's map hashes it once (a fresh concatenation per hit cost ~0.3 us, measured).
   * Bounded; emptied when full.
   */
  #hotPath(docPath: string): string {
    let abs = this.#hotPaths.get(docPath);
    if (abs === undefined) {
      if (this.#hotPaths.size >= 50_000) this.#hotPaths.clear();
      this.#hotPaths.set(docPath, (abs = this.#dir.abs(docPath)));
    }
    return abs;
  }

  async lookup(docPath: string, maxAgeMs: number): Promise<CachedFile | undefined> {
    const absPath = this.#dir.abs(docPath);
    const now = this.#now();
    const hot = this.#hot.get(absPath);
    if (hot && this.#fenced(hot)) return undefined;
    if (hot && now - hot.checkedAt < maxAgeMs) return hot;
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
    return this.#load(absPath, now);
  }

  statLookup(docPath: string, statfileslevel: number): StatLookup {
    return statLookupOrder(docPath, statfileslevel).map((dir) => path.join(this.#dir.docroot, dir, '.stat')) as unknown as StatLookup;
  }

  peekStat(lookup: StatLookup, maxAgeMs: number): number | undefined | 'check' {
    return this.#stats.peek(lookup, maxAgeMs);
  }

  readStat(lookup: StatLookup, maxAgeMs: number): Promise<number | undefined> {
    return this.#stats.nearest(lookup, maxAgeMs);
  }

  lastDeleted(docPath: string): number {
    return this.#fences.size === 0 ? 0 : this.#fences.lastDeleted(this.#dir.abs(docPath));
  }

  /**
   * Is this copy older than a flush that deleted its path? Then it is gone, whatever the disk
   * says (a copy another process put back, or one a crash left).
   */
  #fenced(entry: CachedFile): boolean {
    if (this.#fences.size === 0 || entry.mtimeMs > this.#fences.lastDeleted(entry.absPath)) return false;
    this.#hot.delete(entry.absPath);
    return true;
  }

  async #load(absPath: string, now: number): Promise<CachedFile | undefined> {
    let st;
    try {
      st = await fs.stat(absPath);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    if (msOf(st) <= this.#fences.lastDeleted(absPath)) return undefined;
    if (!(await this.#dir.safeDir(path.dirname(absPath)))) return undefined;
    const { headers, ttlExpiresMs } = await readSidecars(absPath);
    let body: Buffer | undefined;
    if (st.size <= this.#hot.maxEntryBytes) {
      try {
        body = await fs.readFile(absPath);
      } catch {
        return undefined;
      }
      // Replaced while we read it: take the next request's read instead.
      if (body.length !== st.size) return undefined;
    }
    const entry: CachedFile = { absPath, mtimeMs: msOf(st), size: st.size, headers, ttlExpiresMs, body, checkedAt: now };
    this.#hot.set(entry);
    return entry;
  }

  // ---------------------------------------------------------------- filling

  /**
   * False for a while after a write failed because the disk refused it (read-only, full, no
   * permission): misses then go straight to the render (X-Cache: PASS) instead of trying, and
   * failing, to store every page. Writing is tried again `degradedMs` later, on the store's clock.
   */
  get writable(): boolean {
    return this.#now() >= this.#degradedUntil;
  }

  beginWrite(docPath: string, startedAt: number): CacheWrite {
    return new FileCacheWrite(this.#writeTarget, docPath, startedAt);
  }

  readonly #writeTarget: WriteTarget;

  #makeWriteTarget(): WriteTarget {
    const hot = this.#hot;
    return {
      get maxBodyBytes() {
        return hot.maxEntryBytes;
      },
        openTemp: (docPath) => this.#openTemp(docPath),
      install: (docPath, tmp, startedAt, meta, body, size) => this.#install(docPath, tmp, startedAt, meta, body, size),
      reportError: (op, docPath, err) => {
        if (DISK_FAULTS.has((err as NodeJS.ErrnoException)?.code ?? '')) this.#degradedUntil = this.#now() + this.#degradedMs;
        this.#onError(op, docPath, err);
      },
    };
  }

  async #openTemp(docPath: string): Promise<{ tmp: string; stream: WriteStream } | undefined> {
    const absPath = this.#dir.abs(docPath);
    const ready = await this.#dir.ensureDir(path.dirname(absPath));
    // A file/folder collision is not a fault: the response is served (MISS) and not stored
    // (contract section 3). A folder standing where the file must be is the other half.
    if (ready === 'collision' || (await isDirectory(absPath))) return undefined;
    if (ready === 'refused') throw new Error(`folder of ${docPath} is outside the docroot`);
    const tmp = tempName(absPath);
    return { tmp, stream: createWriteStream(tmp, { flags: 'wx' }) };
  }

  /** Moves a complete temporary file into place with its sidecars, unless a fence refuses it. */
  async #install(docPath: string, tmp: string, startedAt: number, meta: StoredMeta, body: Buffer | undefined, size: number): Promise<boolean> {
    const absPath = this.#dir.abs(docPath);
    const when = new Date(startedAt);
    await fs.utimes(tmp, when, when);
    const installed = await this.#locks.run(path.dirname(absPath), async () => {
      if (this.#fences.lastDeleted(absPath) >= startedAt || this.#observer.admits?.(docPath, meta, startedAt) === false) {
        // A flush deleted (or fenced) this file, or invalidated one of its tags, after its render
        // started: the body predates it.
        await fs.rm(tmp, { force: true });
        return false;
      }
      // Registered in the same tick as the checks: a fence noted from now on (and settle()) waits
      // for this rename, and `stored` is heard before it resolves.
      const writing = (async () => {
        await writeSidecars(absPath, meta.headers, meta.ttlExpiresMs, meta.tags);
        try {
          await fs.rename(tmp, absPath);
        } catch (err) {
          if (!isCollision(err)) throw err;
          // A folder was created where the file must go while it was written: not stored.
          await Promise.all([tmp, absPath + HEADERS_SUFFIX, absPath + TTL_SUFFIX].map((f) => fs.rm(f, { force: true })));
          return false;
        }
        this.#observer.stored?.(docPath, meta);
        return true;
      })();
      this.#installing.set(absPath, writing);
      try {
        return await writing;
      } finally {
        this.#installing.delete(absPath);
      }
    });
    if (!installed) return false;
    this.#hot.set({ absPath, mtimeMs: startedAt, size, headers: meta.headers, ttlExpiresMs: meta.ttlExpiresMs, body, checkedAt: this.#now() });
    return true;
  }

  // ---------------------------------------------------------------- flushing

  async checkDocroot(): Promise<void> {
    let st;
    try {
      st = await fs.stat(this.#dir.docroot);
    } catch (err) {
      throw new Error(`docroot ${this.#dir.docroot} unavailable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!st.isDirectory()) throw new Error(`docroot ${this.#dir.docroot} is not a folder`);
  }

  async fence(keys: readonly string[]): Promise<void> {
    const at = this.#now();
    for (const key of keys) {
      if (key.endsWith('/')) this.#fences.note((key === '/' ? this.#dir.docroot : this.#dir.abs(key.slice(0, -1))) + path.sep);
      else if (key.endsWith('.')) this.#fences.note(this.#dir.abs(key.slice(0, -1)) + '.');
      else this.#fences.note(this.#dir.abs(key));
    }
    await this.#settleInstalls(at);
  }

  async settle(): Promise<void> {
    await Promise.all([...this.#installing.values()].map((w) => w.catch(() => undefined)));
  }

  /** Waits for installs past their fence check that a fence noted at `at` or later covers. */
  async #settleInstalls(at: number): Promise<void> {
    const covered: Promise<unknown>[] = [];
    for (const [absPath, writing] of this.#installing) {
      if (this.#fences.lastDeleted(absPath) >= at) covered.push(writing.catch(() => undefined));
    }
    await Promise.all(covered);
  }

  list(dirDocPath: string): Promise<ListingEntry[]> {
    const absDir = this.#dir.abs(dirDocPath);
    return this.#locks.run(absDir, async () => {
      if (!(await this.#dir.safeDir(absDir))) return [];
      try {
        const entries = await fs.readdir(absDir, { withFileTypes: true });
        return entries.map((e) => ({ name: e.name, isDirectory: e.isDirectory() }));
      } catch {
        return [];
      }
    });
  }

  /**
   * A folder is first renamed aside (one atomic step: a front serving the docroot sees it gone at
   * once, and nothing installed into it meanwhile survives), then deleted.
   */
  async remove(docPath: string, opts: { readonly withSidecars?: boolean } = {}): Promise<boolean> {
    const absPath = this.#dir.abs(docPath);
    if (absPath === this.#dir.docroot) throw new Error('refusing to delete the docroot itself');
    const absDir = path.dirname(absPath);
    if (!(await this.#dir.safeDir(absDir))) return false;
    let st;
    try {
      st = await fs.lstat(absPath);
    } catch {
      return false;
    }
    const tree = st.isDirectory();
    const at = this.#now();
    this.#fences.note(tree ? absPath + path.sep : absPath);
    await this.#settleInstalls(at);
    const aside = await this.#locks.run(absDir, async () => {
      if (!tree) {
        await Promise.all([
          fs.rm(absPath, { force: true }),
          ...(opts.withSidecars ? [fs.rm(absPath + HEADERS_SUFFIX, { force: true }), fs.rm(absPath + TTL_SUFFIX, { force: true })] : []),
        ]);
        return undefined;
      }
      const tmp = tempName(absPath);
      try {
        await fs.rename(absPath, tmp);
        return tmp;
      } catch {
        // Gone meanwhile, or a mount point: delete it where it is.
        await fs.rm(absPath, { recursive: true, force: true });
        return undefined;
      }
    });
    if (aside) await fs.rm(aside, { recursive: true, force: true });
    if (tree) {
      this.#hot.deleteUnder(absPath);
      this.#stats.forget(absPath + path.sep, true);
    } else {
      this.#hot.delete(absPath);
      if (path.basename(absPath) === '.stat') this.#stats.forget(absPath, false);
    }
    this.#observer.removed?.(docPath, tree ? 'tree' : 'file');
    return true;
  }

  async removeFiles(docPaths: readonly string[]): Promise<string[]> {
    const byDir = new Map<string, string[]>();
    for (const docPath of docPaths) {
      const absDir = path.dirname(this.#dir.abs(docPath));
      let list = byDir.get(absDir);
      if (!list) byDir.set(absDir, (list = []));
      list.push(docPath);
    }
    const deleted: string[] = [];
    for (const [absDir, inDir] of byDir) {
      if (!(await this.#dir.safeDir(absDir))) continue;
      const files = (
        await Promise.all(
          inDir.map((docPath) =>
            fs.lstat(this.#dir.abs(docPath)).then(
              (st) => (st.isDirectory() ? undefined : docPath),
              () => undefined,
            ),
          ),
        )
      ).filter((p): p is string => p !== undefined);
      if (files.length === 0) continue;
      const at = this.#now();
      for (const docPath of files) this.#fences.note(this.#dir.abs(docPath));
      await this.#settleInstalls(at);
      await this.#locks.run(absDir, async () => {
        for (let i = 0; i < files.length; i += REMOVE_BATCH) {
          await Promise.all(
            files.slice(i, i + REMOVE_BATCH).flatMap((docPath) => {
              const abs = this.#dir.abs(docPath);
              return [abs, abs + HEADERS_SUFFIX, abs + TTL_SUFFIX].map((f) => fs.rm(f, { force: true }));
            }),
          );
        }
      });
      for (const docPath of files) {
        const abs = this.#dir.abs(docPath);
        this.#hot.delete(abs);
        if (path.basename(abs) === '.stat') this.#stats.forget(abs, false);
        this.#observer.removed?.(docPath, 'file');
        deleted.push(docPath);
      }
    }
    return deleted;
  }

  async touchStat(dirDocPath: string, at: number): Promise<boolean> {
    const absDir = this.#dir.abs(dirDocPath);
    if ((await this.#dir.ensureDir(absDir)) !== 'ok') return false;
    const file = path.join(absDir, '.stat');
    const when = new Date(at);
    const handle = await fs.open(file, 'a');
    await handle.close();
    await fs.utimes(file, when, when);
    this.#stats.set(file, at);
    return true;
  }
}

async function isDirectory(absPath: string): Promise<boolean> {
  try {
    return (await fs.lstat(absPath)).isDirectory();
  } catch {
    return false;
  }
}
