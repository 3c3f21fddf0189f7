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
import { closeSync, constants as fsConstants, createWriteStream, lstatSync, lutimesSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
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

/** Files larger than this are renamed aside and deleted off the event loop (see #removeNow). */
const SYNC_UNLINK_MAX_BYTES = 256 * 1024;

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
  /** Installs past their fence check and not yet renamed: completion → absolute path. */
  readonly #installing = new Map<Promise<unknown>, string>();
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
      st = await fs.lstat(absPath);
      if (st.isSymbolicLink()) {
        // "farmgate never reads … anything outside a docroot's real path, whether or not a
        // symlink inside the docroot points elsewhere" (contract section 2): a cached file that
        // is a symlink is followed only while its target stays inside the docroot; otherwise it
        // counts as not cached (the fill that follows replaces the link, never its target).
        if (!this.#dir.inside(await fs.realpath(absPath))) return undefined;
        st = await fs.stat(absPath);
      }
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

  /**
   * The folder is made and the temporary file created synchronously: no delete of this process
   * (they are synchronous too, see "flushing") can remove the folder in between.
   */
  async #openTemp(docPath: string): Promise<{ tmp: string; stream: WriteStream } | undefined> {
    const absPath = this.#dir.abs(docPath);
    const ready = this.#dir.ensureDir(path.dirname(absPath));
    // A file/folder collision is not a fault: the response is served (MISS) and not stored
    // (contract section 3). A folder standing where the file must be is the other half.
    if (ready === 'collision' || lstatSync(absPath, { throwIfNoEntry: false })?.isDirectory()) return undefined;
    if (ready === 'refused') throw new Error(`folder of ${docPath} is outside the docroot`);
    const tmp = tempName(absPath);
    const fd = openSync(tmp, 'wx');
    return { tmp, stream: createWriteStream(tmp, { fd }) };
  }

  /**
   * Moves a complete temporary file into place with its sidecars, unless a fence refuses it. A
   * temporary file that vanished was in a folder a flush deleted (renamed aside) while it was
   * written: not stored, and no fault.
   */
  async #install(docPath: string, tmp: string, startedAt: number, meta: StoredMeta, body: Buffer | undefined, size: number): Promise<boolean> {
    const absPath = this.#dir.abs(docPath);
    const when = new Date(startedAt);
    if (this.#fences.lastDeleted(absPath) >= startedAt) {
      await fs.rm(tmp, { force: true });
      return false;
    }
    try {
      await fs.utimes(tmp, when, when);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    return this.#locks.run(path.dirname(absPath), async () => {
      if (this.#fences.lastDeleted(absPath) >= startedAt || this.#observer.admits?.(docPath, meta, startedAt) === false) {
        // A flush deleted (or fenced) this file, or invalidated one of its tags, after its render
        // started: the body predates it.
        await fs.rm(tmp, { force: true });
        return false;
      }
      // From here to the rename no delete of this process reaches the folder (a remove fences,
      // then waits for the installs it covers, this one included), so the file is checked once.
      if (!lstatSync(tmp, { throwIfNoEntry: false })) return false;
      // Registered in the same tick as the checks: a fence noted from now on (and settle()) waits
      // for this rename; `stored` is heard, and the hot layer has the file, before it resolves.
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
        this.#hot.set({ absPath, mtimeMs: startedAt, size, headers: meta.headers, ttlExpiresMs: meta.ttlExpiresMs, body, checkedAt: this.#now() });
        return true;
      })();
      this.#installing.set(writing, absPath);
      try {
        return await writing;
      } finally {
        this.#installing.delete(writing);
      }
    });
  }

  // ---------------------------------------------------------------- flushing
  //
  // The flush path's file-system calls are synchronous (statSync, readdirSync, renameSync,
  // lutimesSync…): each is a metadata call on a local disk that costs a few microseconds, against
  // tens of microseconds per call through the thread pool (and far more on a loaded machine, where
  // each call waits for a pool thread and then for the event loop). Measured with
  // bench/tools/profile-flush.ts: one Activate made ~30 pooled calls, ~1.5 ms of its ~2 ms. Being
  // synchronous also makes each step atomic against the other flushes and fills of this process:
  // a `.stat`'s folder cannot vanish between the check that it exists and the touch, and a
  // temporary file cannot be created in a folder between its rename aside and its deletion.
  // Deleting a folder tree (any size) stays asynchronous.

  async checkDocroot(): Promise<void> {
    let st;
    try {
      st = statSync(this.#dir.docroot);
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
    await Promise.all([...this.#installing.keys()].map((w) => w.catch(() => undefined)));
  }

  /** Waits for installs past their fence check that a fence noted at `at` or later covers. */
  async #settleInstalls(at: number): Promise<void> {
    if (this.#installing.size === 0) return;
    const covered: Promise<unknown>[] = [];
    for (const [writing, absPath] of this.#installing) {
      if (this.#fences.lastDeleted(absPath) >= at) covered.push(writing.catch(() => undefined));
    }
    await Promise.all(covered);
  }

  async list(dirDocPath: string): Promise<ListingEntry[]> {
    const absDir = this.#dir.abs(dirDocPath);
    return this.#locks.runSync(absDir, () => {
      if (!this.#dir.safeDirSync(absDir)) return [];
      try {
        return readdirSync(absDir, { withFileTypes: true }).map((e) => ({ name: e.name, isDirectory: e.isDirectory() }));
      } catch {
        return [];
      }
    });
  }

  /**
   * A folder is first renamed aside (one atomic step: a front serving the docroot sees it gone at
   * once, and nothing installed into it meanwhile survives), then deleted. Once it is renamed the
   * flush has its effect: a failure to delete the renamed copy (another process writing into it)
   * is logged and retried in the background, never a failed flush; the crash sweep removes what a
   * crash left.
   */
  async remove(docPath: string, opts: { readonly withSidecars?: boolean } = {}): Promise<boolean> {
    const absPath = this.#dir.abs(docPath);
    if (absPath === this.#dir.docroot) throw new Error('refusing to delete the docroot itself');
    const absDir = path.dirname(absPath);
    if (!this.#dir.safeDirSync(absDir)) return false;
    const st = lstatSync(absPath, { throwIfNoEntry: false });
    if (!st) return false;
    const at = this.#now();
    this.#fences.note(st.isDirectory() ? absPath + path.sep : absPath);
    await this.#settleInstalls(at);
    const removed = await this.#locks.runSync(absDir, () => this.#removeNow(docPath, absPath, opts.withSidecars === true));
    if (typeof removed === 'string') await this.#deleteAside(docPath, removed);
    return removed !== false;
  }

  /**
   * Deletes a file, or renames a folder aside: true (file deleted), the aside name (folder), or
   * false (gone meanwhile). Whatever stands at the path now decides, not what a listing saw. The
   * hot layer, the `.stat` times and the observer hear of it in the same synchronous step, so a
   * file stored into the same place right after (a fill, a `.stat` touched again) is never
   * forgotten in their place.
   */
  #removeNow(docPath: string, absPath: string, withSidecars: boolean): boolean | string {
    const st = lstatSync(absPath, { throwIfNoEntry: false });
    if (!st) return false;
    let removed: true | string = true;
    if (st.isDirectory()) {
      removed = tempName(absPath);
      this.#dir.forgetVerified();
      try {
        renameSync(absPath, removed);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        // A mount point (EBUSY, EXDEV): deleted where it is, below.
        removed = absPath;
      }
      this.#hot.deleteUnder(absPath);
      this.#stats.forget(absPath + path.sep, true);
    } else {
      try {
        // Freeing a large file's blocks takes long (300 MB: ~100 ms measured here, with the
        // `discard` mount option): it is renamed aside at once and deleted on the thread pool,
        // never on the event loop. A cached page is unlinked here and now.
        if (st.size > SYNC_UNLINK_MAX_BYTES) renameSync(absPath, (removed = tempName(absPath)));
        else unlinkSync(absPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
      if (withSidecars) for (const f of [absPath + HEADERS_SUFFIX, absPath + TTL_SUFFIX]) rmSync(f, { force: true });
      this.#hot.delete(absPath);
      if (path.basename(absPath) === '.stat') this.#stats.forget(absPath, false);
    }
    this.#observer.removed?.(docPath, st.isDirectory() ? 'tree' : 'file');
    return removed;
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
        // Heard while the folder is still locked: a file installed here next (a new render) is
        // never forgotten in the deleted one's place.
        for (const docPath of files) {
          const abs = this.#dir.abs(docPath);
          this.#hot.delete(abs);
          if (path.basename(abs) === '.stat') this.#stats.forget(abs, false);
          this.#observer.removed?.(docPath, 'file');
          deleted.push(docPath);
        }
      });
    }
    return deleted;
  }

  async #deleteAside(docPath: string, aside: string): Promise<void> {
    const rm = () => fs.rm(aside, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
    try {
      await rm();
    } catch (err) {
      this.#onError('delete', docPath, err);
      const retry = setTimeout(() => void rm().catch((e: unknown) => this.#onError('delete', docPath, e)), 5000);
      retry.unref();
    }
  }

  /**
   * Touches (creates if missing) the `.stat` of a folder, creating the folder too when a
   * concurrent flush just deleted it. Never moves a `.stat` back in time: flushes applied in
   * parallel finish in any order, and a `.stat` set back from 101 to 100 would make fresh again a
   * file rendered at 100.5, before the flush of 101 (the later time stands for both). The time on
   * disk is the one compared (lstat, in the same synchronous step), not one remembered.
   */
  async touchStat(dirDocPath: string, at: number): Promise<boolean> {
    const absDir = this.#dir.abs(dirDocPath);
    const file = path.join(absDir, '.stat');
    // Fast path: the folder exists and is inside the docroot (one realpath); else make it.
    if (!this.#dir.safeDirSync(absDir) && this.#dir.ensureDir(absDir) !== 'ok') return false;
    let t = at;
    for (let attempt = 0; ; attempt++) {
      let st;
      try {
        st = lstatSync(file, { throwIfNoEntry: false });
      } catch (err) {
        // A cached file stands where the folder must be: nothing to touch (as for a folder that
        // leaves the docroot).
        if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
        throw err;
      }
      if (st) {
        // A symlink is never followed (it may leave the docroot): refused like a folder that
        // leaves it. A folder named `.stat` is a broken docroot: the flush fails, loudly.
        if (st.isSymbolicLink()) return false;
        if (!st.isFile()) throw Object.assign(new Error(`${file} is not a file`), { code: 'EISDIR' });
        t = Math.max(at, msOf(st));
        // lutimes: even if it became a symlink meanwhile, nothing outside the docroot is touched.
        lutimesSync(file, new Date(t), new Date(t));
        break;
      }
      try {
        closeSync(openSync(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW));
        lutimesSync(file, new Date(at), new Date(at));
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // EEXIST: created by another process meanwhile (touch it, next turn). ENOENT: its folder
        // was removed by another process between the check and here: make it again.
        if (attempt > 2 || (code !== 'EEXIST' && (code !== 'ENOENT' || this.#dir.ensureDir(absDir) !== 'ok'))) throw err;
      }
    }
    this.#stats.set(file, t);
    return true;
  }
}
