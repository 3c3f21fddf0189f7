/**
 * An in-memory CacheStore: the fake that serve, fill and send are unit-tested on, without a disk,
 * sockets or sleeps (hono's MockCache, undici's MemoryCacheStore). It keeps a small tree of named
 * files with mtimes, sidecars included, in the same format as the file-system store
 * (cache/sidecars.ts), and passes the same contract suite (test/cache/store-contract.ts).
 */
import path from 'node:path/posix';
import { DeletionFences } from '../../src/cache/fences.js';
import { decodeHeaders, encodeHeaders, HEADERS_SUFFIX, TTL_SUFFIX } from '../../src/cache/sidecars.js';
import { statLookupOrder } from '../../src/cache/stat-files.js';
import type {
  CachedFile,
  CacheStore,
  CacheWrite,
  ListingEntry,
  StatLookup,
  StoredMeta,
  StoreObserver,
} from '../../src/cache/store.js';

interface MemFile {
  readonly data: Buffer;
  readonly mtimeMs: number;
}

export interface MemoryStoreOptions {
  readonly now?: () => number;
  readonly observer?: StoreObserver;
  /** How long writes are not tried after a refused one (default 5000), on `now`. */
  readonly degradedMs?: number;
}

export class MemoryStore implements CacheStore {
  readonly docroot = '/';
  /** Every file by document path: pages, sidecars, `.stat` files. */
  readonly files = new Map<string, MemFile>();
  /** Folders that exist (the docroot always). */
  readonly dirs = new Set<string>(['/']);
  /** Set to an errno code (`EROFS`, `ENOSPC`): writes fail with it, as a refusing disk would. */
  failWrites: string | undefined;
  /** Set to make checkDocroot() fail (the docroot is gone). */
  gone = false;
  /** Writes that failed, in order, as the runtime would log them. */
  readonly errors: { op: string; docPath: string; code: string }[] = [];
  readonly #now: () => number;
  #observer: StoreObserver;
  readonly #degradedMs: number;
  readonly #fences: DeletionFences;
  readonly #entries = new Map<string, CachedFile>();
  #degradedUntil = 0;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#observer = opts.observer ?? {};
    this.#degradedMs = opts.degradedMs ?? 5000;
    this.#fences = new DeletionFences('/', this.#now);
  }

  /** Puts a file straight into the tree, as another process (or a test) would. */
  put(docPath: string, body: string | Buffer, mtimeMs: number, headers: [string, string][] = []): void {
    this.#mkdirs(path.dirname(docPath));
    this.files.set(docPath, { data: Buffer.from(body), mtimeMs });
    if (headers.length > 0) this.files.set(docPath + HEADERS_SUFFIX, { data: Buffer.from(encodeHeaders(headers)), mtimeMs });
    this.#entries.delete(docPath);
  }

  // ---------------------------------------------------------------- serving

  peek(docPath: string): CachedFile | undefined {
    const file = this.files.get(docPath);
    if (!file || file.mtimeMs <= this.#fences.lastDeleted(docPath)) return undefined;
    let entry = this.#entries.get(docPath);
    if (!entry || entry.mtimeMs !== file.mtimeMs || entry.size !== file.data.length) {
      entry = {
        absPath: docPath,
        mtimeMs: file.mtimeMs,
        size: file.data.length,
        headers: decodeHeaders(this.files.get(docPath + HEADERS_SUFFIX)?.data.toString()),
        ttlExpiresMs: this.files.get(docPath + TTL_SUFFIX)?.mtimeMs,
        body: file.data,
        checkedAt: this.#now(),
      };
      this.#entries.set(docPath, entry);
    }
    return entry;
  }

  async lookup(docPath: string): Promise<CachedFile | undefined> {
    return this.peek(docPath);
  }

  statLookup(docPath: string, statfileslevel: number): StatLookup {
    return statLookupOrder(docPath, statfileslevel).map((dir) => path.join(dir, '.stat')) as unknown as StatLookup;
  }

  peekStat(lookup: StatLookup): number | undefined {
    for (const key of lookup) {
      const stat = this.files.get(key);
      if (stat) return stat.mtimeMs;
    }
    return undefined;
  }

  async readStat(lookup: StatLookup): Promise<number | undefined> {
    return this.peekStat(lookup);
  }

  lastDeleted(docPath: string): number {
    return this.#fences.lastDeleted(docPath);
  }

  // ---------------------------------------------------------------- filling

  get writable(): boolean {
    return this.#now() >= this.#degradedUntil;
  }

  beginWrite(docPath: string, startedAt: number): CacheWrite {
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    const store = this;
    return {
      get size() {
        return size;
      },
      write(chunk) {
        size += chunk.length;
        chunks.push(chunk);
      },
      async commit(meta) {
        if (aborted) return false;
        return store.#install(docPath, startedAt, Buffer.concat(chunks), meta);
      },
      async abort() {
        aborted = true;
      },
    };
  }

  #install(docPath: string, startedAt: number, body: Buffer, meta: StoredMeta): boolean {
    if (this.failWrites) {
      this.errors.push({ op: 'open', docPath, code: this.failWrites });
      this.#degradedUntil = this.#now() + this.#degradedMs;
      return false;
    }
    if (this.#fences.lastDeleted(docPath) >= startedAt || this.#observer.admits?.(docPath, meta, startedAt) === false) return false;
    // As on disk: a file where a folder must be, or a folder where the file must be, refuses it.
    if (!this.#mkdirs(path.dirname(docPath)) || this.dirs.has(docPath)) return false;
    this.files.set(docPath, { data: body, mtimeMs: startedAt });
    this.files.set(docPath + HEADERS_SUFFIX, { data: Buffer.from(encodeHeaders(meta.headers, meta.tags)), mtimeMs: startedAt });
    if (meta.ttlExpiresMs !== undefined) this.files.set(docPath + TTL_SUFFIX, { data: Buffer.alloc(0), mtimeMs: meta.ttlExpiresMs });
    else this.files.delete(docPath + TTL_SUFFIX);
    this.#entries.delete(docPath);
    this.#observer.stored?.(docPath, meta);
    return true;
  }

  /** mkdir -p; false when a file stands on the way. */
  #mkdirs(dir: string): boolean {
    for (let d = dir; ; d = path.dirname(d)) {
      if (this.files.has(d)) return false;
      if (d === '/') break;
    }
    for (let d = dir; d !== '/'; d = path.dirname(d)) this.dirs.add(d);
    return true;
  }

  // ---------------------------------------------------------------- flushing

  async checkDocroot(): Promise<void> {
    if (this.gone) throw new Error('docroot / unavailable: ENOENT');
  }

  async settle(): Promise<void> {}

  /** Who hears about stores and removals from now on (the runtime wires the tag index here). */
  observe(observer: StoreObserver): void {
    this.#observer = observer;
  }

  async fence(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#fences.note(key === '/' ? '//' : key);
  }

  async list(dirDocPath: string): Promise<ListingEntry[]> {
    if (!this.dirs.has(dirDocPath)) return [];
    const out: ListingEntry[] = [];
    for (const d of this.dirs) if (d !== '/' && path.dirname(d) === dirDocPath) out.push({ name: path.basename(d), isDirectory: true });
    for (const f of this.files.keys()) if (path.dirname(f) === dirDocPath) out.push({ name: path.basename(f), isDirectory: false });
    return out;
  }

  async remove(docPath: string, opts: { readonly withSidecars?: boolean } = {}): Promise<boolean> {
    if (docPath === '/') throw new Error('refusing to delete the docroot itself');
    if (this.files.delete(docPath)) {
      if (opts.withSidecars) {
        this.files.delete(docPath + HEADERS_SUFFIX);
        this.files.delete(docPath + TTL_SUFFIX);
      }
      this.#fences.note(docPath);
      this.#entries.delete(docPath);
      this.#observer.removed?.(docPath, 'file');
      return true;
    }
    if (!this.dirs.has(docPath)) return false;
    const prefix = docPath + '/';
    for (const d of [...this.dirs]) if (d === docPath || d.startsWith(prefix)) this.dirs.delete(d);
    for (const f of [...this.files.keys()]) if (f.startsWith(prefix)) this.files.delete(f);
    for (const e of [...this.#entries.keys()]) if (e.startsWith(prefix)) this.#entries.delete(e);
    this.#fences.note(prefix);
    this.#observer.removed?.(docPath, 'tree');
    return true;
  }

  async removeFiles(docPaths: readonly string[]): Promise<string[]> {
    const deleted: string[] = [];
    for (const docPath of docPaths) if (this.files.has(docPath) && (await this.remove(docPath, { withSidecars: true }))) deleted.push(docPath);
    return deleted;
  }

  async touchStat(dirDocPath: string, at: number): Promise<boolean> {
    if (!this.#mkdirs(dirDocPath) || this.files.has(dirDocPath)) return false;
    this.dirs.add(dirDocPath);
    const file = path.join(dirDocPath, '.stat');
    // Never back in time (fs-store.ts touchStat).
    this.files.set(file, { data: Buffer.alloc(0), mtimeMs: Math.max(at, this.files.get(file)?.mtimeMs ?? 0) });
    return true;
  }
}
