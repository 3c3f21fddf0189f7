/**
 * The cache store: what serving and flushing need from a docroot, and nothing more (undici's
 * `CacheStore` is `get / createWriteStream / delete`; ours adds what a Dispatcher cache has on top:
 * `.stat` files, deletion fences and folder listings). Two implementations pass one contract suite
 * (test/cache/store-contract.ts): the file-system store (fs-store.ts), which is the product, and an
 * in-memory fake (test/fakes/memory-store.ts), on which serve, fill and send are unit-tested.
 *
 * Document paths are `/`-rooted paths inside the docroot that passed `toDocPath` or
 * `parseHandle` (doc-path.ts): no `.`/`..` segments, no backslash, no NUL.
 *
 * Guarantee to fronts that serve the docroot directly (NOTES seam 4): once `remove()` resolved for
 * a path, or `fence()` resolved and the fenced names were removed, no copy whose render started at
 * or before the fence is on disk, and none will be installed later: a write checks the fences and
 * renames under a lock shared with listings and deletes of its folder, and a fence waits for the
 * writes it covers that passed their check before it.
 */
/** A cached file as served: its stored headers, expiry and, when small, its body. */
export interface CachedFile {
  /** Where the body is, for streaming when `body` is not kept (an absolute file path). */
  readonly absPath: string;
  /** When its render request started (the file's mtime, whole milliseconds). */
  readonly mtimeMs: number;
  readonly size: number;
  /** Headers stored in the `.h` sidecar, replayed on hits. */
  readonly headers: readonly (readonly [string, string])[];
  /** Expiry from the `.ttl` sidecar, if any. */
  readonly ttlExpiresMs: number | undefined;
  /** The body, when small enough to keep; undefined = stream it from `absPath`. */
  readonly body: Buffer | undefined;
  /** When the disk was last compared with this entry (ms); the store's bookkeeping. */
  checkedAt: number;
  /**
   * Response headers prepared once per entry by serve/send.ts (the entry's fields never change;
   * a changed file is a new entry), so a hit does no per-request header building.
   */
  replay?: unknown;
}

/** What a write stores beside the body (contract section 3: `P.h`, `P.ttl`). */
export interface StoredMeta {
  readonly headers: readonly (readonly [string, string])[];
  readonly ttlExpiresMs: number | undefined;
  /** The file's cache tags (contract section 4a), recorded in `P.h`; none when absent. */
  readonly tags?: readonly string[];
}

/**
 * One atomic cache write: the body goes to a temporary file while it streams to the client, then
 * `commit` moves it into place or `abort` drops it. Never throws: a failure is reported by the
 * store (logged and counted) and the client's response goes on (style anchor 10).
 */
export interface CacheWrite {
  /** Bytes written so far. */
  readonly size: number;
  write(chunk: Buffer): void;
  /** Installs the file with its sidecars; false when refused (fenced) or failed. */
  commit(meta: StoredMeta): Promise<boolean>;
  abort(): Promise<void>;
}

/** One name in a folder listing; a symlink is not a directory (it is removed, never followed). */
export interface ListingEntry {
  readonly name: string;
  readonly isDirectory: boolean;
}

/**
 * The `.stat` files that may govern a document, nearest first, in the store's own terms
 * (computed once per document: the HIT fast path keeps it with its route).
 */
export type StatLookup = readonly string[] & { readonly __statLookup: true };

/**
 * Told about every change the store makes to its docroot, after it happened. The place for an
 * index kept beside the cache (tags, issue 15): `stored` for every installed file, `removed` for
 * every deleted name (`tree` when a folder went with everything below it).
 */
export interface StoreObserver {
  /**
   * Is a write whose render started at `startedAt` still wanted? Asked with the fence check,
   * before anything is written (false: a tag of the file was invalidated since, tags/fences.ts).
   */
  admits?(docPath: string, meta: StoredMeta, startedAt: number): boolean;
  stored?(docPath: string, meta: StoredMeta): void;
  removed?(docPath: string, kind: 'file' | 'tree'): void;
}

export interface CacheStore {
  /** The docroot as configured (for logs and messages). */
  readonly docroot: string;

  // ---------------------------------------------------------------- serving

  /**
   * The cached file from memory, synchronously, or undefined (not in memory, changed on disk, or
   * fenced). When the entry was last compared with the disk `maxAgeMs` ago or more, it is compared
   * now.
   */
  peek(docPath: string, maxAgeMs: number): CachedFile | undefined;
  /** The cached file from memory or disk, or undefined when not cached (or fenced). */
  lookup(docPath: string, maxAgeMs: number): Promise<CachedFile | undefined>;
  /** The `.stat` files that may govern a document at a statfileslevel (stat-files.ts). */
  statLookup(docPath: string, statfileslevel: number): StatLookup;
  /** mtime of the nearest existing `.stat` from memory; `'check'` when a disk read is due. */
  peekStat(lookup: StatLookup, maxAgeMs: number): number | undefined | 'check';
  /** mtime of the nearest existing `.stat` (undefined: none), reading the disk when due. */
  readStat(lookup: StatLookup, maxAgeMs: number): Promise<number | undefined>;
  /** When a flush last deleted or fenced this document (see fences.ts), or 0. */
  lastDeleted(docPath: string): number;

  // ---------------------------------------------------------------- filling

  /** False for a while after the disk refused a write (read-only, full): fills then pass. */
  readonly writable: boolean;
  /**
   * Starts an atomic write. The file's mtime will be `startedAt`, when its render request
   * started, so a flush landing meanwhile leaves it stale, and a fence newer than it refuses it.
   */
  beginWrite(docPath: string, startedAt: number): CacheWrite;

  // ---------------------------------------------------------------- flushing

  /** Throws when the docroot is gone or not a folder (a flush must then fail, not answer 200). */
  checkDocroot(): Promise<void>;
  /**
   * Marks what a flush is about to delete, cached yet or not: `H` a file, `H.` every `base(H).*`,
   * `F/` a folder tree (`/` = everything). From now on no copy rendered before is served or
   * installed; resolves once writes that got past their fence check before are on disk, so a
   * listing taken next sees them.
   */
  fence(keys: readonly string[]): Promise<void>;
  /** Names in a folder (empty when absent or outside the docroot); stable against our own writes. */
  list(dirDocPath: string): Promise<ListingEntry[]>;
  /**
   * Resolves once every write that passed its checks before this call is installed (and its
   * `stored` heard): what a tag invalidation waits for before it reads the tag index.
   */
  settle(): Promise<void>;
  /**
   * Deletes a file or folder tree (a symlink is removed, never followed), fencing it first.
   * True when something was deleted. `withSidecars`: a file's `.h` and `.ttl` go with it, in the
   * same step (a tag invalidation; a flush lists its sidecars as `base.*` names of their own).
   */
  remove(docPath: string, opts?: { readonly withSidecars?: boolean }): Promise<boolean>;
  /**
   * Deletes many files, each with its `.h` and `.ttl` (a tag invalidation), as `remove` would one
   * by one, but one folder at a time: one confinement check, one fence wait and one lock per
   * folder, the deletes of a folder in parallel. Names that are folders or gone are skipped.
   * Returns the document paths deleted.
   */
  removeFiles(docPaths: readonly string[]): Promise<string[]>;
  /**
   * Touches (creates if missing) the `.stat` of a folder with mtime `at`; false when the folder
   * leaves the docroot's real path.
   */
  touchStat(dirDocPath: string, at: number): Promise<boolean>;
}
