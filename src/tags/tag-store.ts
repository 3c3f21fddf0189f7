/**
 * The tag index of one docroot, kept in memory and on disk: it survives restarts, is rebuilt
 * after a crash, and finds the files carrying a tag without looking at the rest of the cache.
 *
 * Where: `server.stateDir/tags/<name>-<hash of the docroot's real path>/`, farmgate's own state
 * folder, beside the outbox. Never inside the docroot, so no request (and no front server serving
 * the docroot) can reach it, and a root flush that empties the docroot cannot delete it.
 *
 * The format (journal.ts) and why:
 * - The `.h` sidecar of each cached file records its tags, written atomically with the file. It
 *   is the source of truth: after a crash the index is rebuilt from the sidecars alone.
 * - `snapshot.jsonl` (the whole index) + `journal.jsonl` (one appended line per store or delete)
 *   make a clean restart cost one sequential read, not a walk of the docroot. Appends are
 *   batched per event-loop turn and never fsync'd: the miss path pays a string and a `Map` update,
 *   not a disk flush. The journal is folded into a new snapshot when it grows past twice the
 *   index (and on a clean stop).
 * - A `clean` marker is written on a clean stop, after the last line, and removed at start. No
 *   marker means the last run did not stop cleanly (or the index is new): the journal may lack
 *   the last appends, so the index is rebuilt by walking the docroot and reading the sidecars, in
 *   the background. Stores and deletes meanwhile go on; tag invalidations wait for the rebuild.
 * - In memory (tag-index.ts): tag → files and file → tags, so invalidating a tag costs time in
 *   proportion to the files carrying it, whatever the cache size. The price is memory: about
 *   100 bytes per (file, tag) pair (measured by `npm run bench`).
 * Alternatives weighed: one file per tag on disk (no memory, but a file per tag per store on the
 * miss path, and unbounded growth as pages are re-stored); SQLite/LMDB (native modules; Node 20
 * has no built-in SQLite).
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { isInternalName } from '../cache/doc-path.js';
import { walkFiles } from '../cache/walk.js';
import type { Logger } from '../logger.js';
import { TagFences } from './fences.js';
import {
  decodeOp,
  decodeSnapshotEntry,
  decodeSnapshotHeader,
  encodeOp,
  encodeSnapshotEntry,
  encodeSnapshotHeader,
  type JournalOp,
  storedTags,
} from './journal.js';
import { TagIndex, type IndexStats } from './tag-index.js';

export const SNAPSHOT = 'snapshot.jsonl';
export const JOURNAL = 'journal.jsonl';
export const CLEAN = 'clean';
/** The journal is folded into the snapshot once it has this many lines and twice the index's files. */
const COMPACT_MIN_LINES = 20_000;
/** Sidecars read at once while rebuilding. */
const REBUILD_CONCURRENCY = 16;

export interface TagStoreOptions {
  /** `server.stateDir`: the index lives in `stateDir/tags/…`; undefined = memory only (tests on fakes). */
  readonly stateDir: string | undefined;
  /** The docroot's real path (symlinks resolved). */
  readonly realDocroot: string;
  readonly log?: Pick<Logger, 'info' | 'warn'>;
  readonly now?: () => number;
  /** Journal lines before a compaction is considered (tests lower it). */
  readonly compactMinLines?: number;
}

export interface TagStoreStatus extends IndexStats {
  readonly dir: string;
  readonly rebuilding: boolean;
  readonly journalLines: number;
  /** Why the index was rebuilt at start (undefined after a clean start). */
  readonly rebuildReason: string | undefined;
  readonly rejectedRecords: number;
}

/** The index folder of a docroot: readable name, unique by the docroot's real path. */
export function tagIndexDir(stateDir: string, realDocroot: string): string {
  const hash = createHash('sha256').update(realDocroot).digest('hex').slice(0, 12);
  const name = path.basename(realDocroot).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40) || 'root';
  return path.join(stateDir, 'tags', `${name}-${hash}`);
}

export class TagStore {
  readonly dir: string;
  readonly realDocroot: string;
  /** Tag invalidation times, for renders still in flight (fences.ts). */
  readonly fences: TagFences;
  #index = new TagIndex();
  readonly #log: Pick<Logger, 'info' | 'warn'> | undefined;
  readonly #compactMinLines: number;
  #journal: FileHandle | undefined;
  #journalLines = 0;
  #queue: string[] = [];
  #writing: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;
  #closed = false;
  #failed = false;
  /** Operations since a rebuild started, replayed onto the rebuilt index. */
  #sinceRebuild: JournalOp[] | undefined;
  #ready: Promise<void> = Promise.resolve();
  #rebuildReason: string | undefined;
  #rejected = 0;

  private constructor(opts: TagStoreOptions) {
    this.dir = opts.stateDir === undefined ? '' : tagIndexDir(opts.stateDir, opts.realDocroot);
    this.realDocroot = opts.realDocroot;
    this.#log = opts.log;
    this.fences = new TagFences(opts.now);
    this.#compactMinLines = opts.compactMinLines ?? COMPACT_MIN_LINES;
  }

  /**
   * Opens (creating if needed) the index of a docroot. Resolves once the persisted index is
   * loaded; a rebuild it needs runs in the background (`whenReady()`).
   */
  static async open(opts: TagStoreOptions): Promise<TagStore> {
    const store = new TagStore(opts);
    if (opts.stateDir === undefined) return store;
    await fs.mkdir(store.dir, { recursive: true });
    // From here on this run is "not stopped cleanly" until close() says otherwise.
    const clean = await fs.rm(path.join(store.dir, CLEAN)).then(
      () => true,
      () => false,
    );
    const loaded = await store.#load();
    store.#journal = await fs.open(path.join(store.dir, JOURNAL), 'a');
    const reason = !clean
      ? loaded.snapshot || loaded.journalLines > 0
        ? 'the last run did not stop cleanly'
        : 'no index yet'
      : loaded.problem;
    if (reason) store.#startRebuild(reason);
    return store;
  }

  // ---------------------------------------------------------------- changes

  /** A file was stored with these tags (an empty list: stored without tags). */
  record(docPath: string, tags: readonly string[]): void {
    if (tags.length === 0 && this.#index.tagsOf(docPath) === undefined && !this.#sinceRebuild) return;
    this.#apply({ op: 'set', docPath, tags });
  }

  /** A file was deleted. */
  forget(docPath: string): void {
    if (this.#index.tagsOf(docPath) === undefined && !this.#sinceRebuild) return;
    this.#apply({ op: 'forget', docPath });
  }

  /** A folder was deleted with everything below it (`/`: the docroot was emptied). */
  forgetUnder(dirDocPath: string): void {
    this.#apply({ op: 'forgetUnder', docPath: dirDocPath });
  }

  #apply(op: JournalOp): void {
    applyOp(this.#index, op);
    this.#sinceRebuild?.push(op);
    if (!this.dir) return;
    if (this.#closed) {
      // A store finishing during shutdown: the saved index no longer matches the docroot. The
      // marker goes at once (synchronously), so nothing can read it as clean after this call.
      try {
        rmSync(path.join(this.dir, CLEAN), { force: true });
      } catch {
        /* the next start finds no valid journal either way */
      }
      return;
    }
    if (this.#failed) return;
    this.#queue.push(encodeOp(op));
    this.#journalLines++;
    this.#kick();
  }

  // ---------------------------------------------------------------- reading

  /** The tags a cached file carries (undefined: none known). */
  tagsOf(docPath: string): readonly string[] | undefined {
    return this.#index.tagsOf(docPath);
  }

  /**
   * The files carrying any of these tags, sorted, once the index is complete (after a rebuild
   * has finished). A copy: deleting them does not disturb it.
   */
  async filesWith(tags: Iterable<string>): Promise<string[]> {
    await this.#ready;
    const out = new Set<string>();
    for (const tag of tags) for (const docPath of this.#index.files(tag)) out.add(docPath);
    return [...out].sort();
  }

  /** Synchronous, possibly incomplete while rebuilding: for dry runs and the admin page. */
  filesWithNow(tag: string): ReadonlySet<string> {
    return this.#index.files(tag);
  }

  whenReady(): Promise<void> {
    return this.#ready;
  }

  status(): TagStoreStatus {
    return {
      ...this.#index.stats(),
      dir: this.dir,
      rebuilding: this.#sinceRebuild !== undefined,
      journalLines: this.#journalLines,
      rebuildReason: this.#rebuildReason,
      rejectedRecords: this.#rejected,
    };
  }

  // ---------------------------------------------------------------- lifecycle

  /** Waits until every change so far is in the journal. */
  async flush(): Promise<void> {
    for (;;) {
      this.#kick();
      const busy = this.#compacting ?? this.#writing;
      if (!busy) return;
      await busy;
    }
  }

  /** A clean stop: the journal folded into a snapshot, then the `clean` marker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.dir) {
      this.#closed = true;
      return;
    }
    await this.#ready.catch(() => undefined);
    await this.flush();
    this.#closed = true;
    try {
      if (!this.#failed) {
        await this.#writeSnapshot(this.#serializeSnapshot());
        await this.#journal?.truncate(0);
        await fs.writeFile(path.join(this.dir, CLEAN), `${new Date().toISOString()}\n`);
      }
    } catch (err) {
      this.#log?.warn({ dir: this.dir, err: (err as Error).message }, 'tag index: could not be saved; it is rebuilt at the next start');
    } finally {
      await this.#journal?.close();
      this.#journal = undefined;
    }
  }

  // ---------------------------------------------------------------- internals

  #kick(): void {
    if (this.#writing || this.#compacting || this.#failed || this.#queue.length === 0 || !this.#journal) return;
    const lines = this.#queue;
    this.#queue = [];
    const handle = this.#journal;
    // One write per event-loop turn at most: the lines of every store and delete since the last.
    this.#writing = (async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lines.push(...this.#queue);
      this.#queue = [];
      await handle.write(lines.join(''));
    })()
      .catch((err: Error) => {
        // A full or read-only disk: the index goes on in memory; the next start rebuilds it.
        this.#failed = true;
        this.#log?.warn({ dir: this.dir, err: err.message }, 'tag index: journal write failed; kept in memory, rebuilt at the next start');
      })
      .finally(() => {
        this.#writing = undefined;
        if (this.#shouldCompact()) void this.#compact();
        else this.#kick();
      });
  }

  #shouldCompact(): boolean {
    return !this.#closed && !this.#failed && !this.#sinceRebuild && this.#journalLines >= Math.max(this.#compactMinLines, 2 * this.#index.stats().files);
  }

  /** Folds the journal into a new snapshot. Lines queued meanwhile are covered by the snapshot. */
  #compact(): Promise<void> {
    this.#compacting ??= (async () => {
      try {
        await this.#writing;
        // The snapshot is the index at this instant: the lines queued so far are in it.
        const text = this.#serializeSnapshot();
        this.#queue = [];
        this.#journalLines = 0;
        await this.#writeSnapshot(text);
        await this.#journal?.truncate(0);
      } catch (err) {
        this.#log?.warn({ dir: this.dir, err: (err as Error).message }, 'tag index: compaction failed');
      } finally {
        this.#compacting = undefined;
        this.#kick();
      }
    })();
    return this.#compacting;
  }

  /** The whole index as snapshot text, serialised in one go: the index at one instant. */
  #serializeSnapshot(): string {
    const parts = [encodeSnapshotHeader(this.realDocroot, this.#index.stats().files)];
    for (const [docPath, tags] of this.#index.entries()) parts.push(encodeSnapshotEntry(docPath, tags));
    return parts.join('');
  }

  /** Writes a snapshot atomically (temporary file, then rename). */
  async #writeSnapshot(text: string): Promise<void> {
    const tmp = path.join(this.dir, `.${SNAPSHOT}.${process.pid}.tmp`);
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, path.join(this.dir, SNAPSHOT));
  }

  /** Loads snapshot + journal. Damaged records are skipped and counted, never trusted. */
  async #load(): Promise<{ snapshot: boolean; journalLines: number; problem: string | undefined }> {
    let problem: string | undefined;
    let snapshot = false;
    const snapText = await fs.readFile(path.join(this.dir, SNAPSHOT), 'utf8').catch(() => undefined);
    if (snapText !== undefined) {
      const lines = snapText.split('\n');
      const header = decodeSnapshotHeader(lines[0] ?? '');
      if (!header.ok) problem = `snapshot: ${header.reason}`;
      else if (header.value.docroot !== this.realDocroot) problem = `snapshot is of docroot ${header.value.docroot}`;
      else {
        snapshot = true;
        for (let i = 1; i < lines.length; i++) {
          if (lines[i] === '') continue;
          const entry = decodeSnapshotEntry(lines[i]!);
          if (entry.ok) this.#index.set(entry.value.docPath, entry.value.tags);
          else this.#reject(SNAPSHOT, i + 1, entry.reason);
        }
      }
    }
    let journalLines = 0;
    const journalText = await fs.readFile(path.join(this.dir, JOURNAL), 'utf8').catch(() => '');
    const lines = journalText.split('\n');
    // A last line without its newline was cut by a crash: ignore it.
    if (!journalText.endsWith('\n')) lines.pop();
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] === '') continue;
      journalLines++;
      const op = decodeOp(lines[i]!);
      if (op.ok) applyOp(this.#index, op.value);
      else this.#reject(JOURNAL, i + 1, op.reason);
    }
    this.#journalLines = journalLines;
    if (this.#rejected > 0) problem ??= `${this.#rejected} damaged record(s)`;
    return { snapshot, journalLines, problem };
  }

  #reject(file: string, line: number, reason: string): void {
    this.#rejected++;
    if (this.#rejected <= 10) this.#log?.warn({ dir: this.dir, file, line, reason }, 'tag index: record refused');
  }

  /** Rebuilds the index from the sidecars in the background; tag invalidations wait for it. */
  #startRebuild(reason: string): void {
    this.#rebuildReason = reason;
    this.#sinceRebuild = [];
    const started = performance.now();
    this.#log?.info({ docroot: this.realDocroot, reason }, 'tag index: rebuilding from the cached files');
    this.#ready = this.#rebuild().then(
      (files) => {
        this.#log?.info({ docroot: this.realDocroot, files, ms: Math.round(performance.now() - started) }, 'tag index: rebuilt');
      },
      (err: Error) => {
        // The loaded index stays (it is what we had); invalidations go on with it.
        this.#sinceRebuild = undefined;
        this.#log?.warn({ docroot: this.realDocroot, err: err.message }, 'tag index: rebuild failed; using the saved index');
      },
    );
  }

  async #rebuild(): Promise<number> {
    const fresh = new TagIndex();
    const pending: Promise<void>[] = [];
    const root = this.realDocroot;
    for await (const { path: abs, entry } of walkFiles(root)) {
      if (!entry.isFile()) continue;
      const docPath = '/' + path.relative(root, abs).split(path.sep).join('/');
      if (isInternalName(docPath)) continue;
      const task = fs.readFile(abs + '.h', 'utf8').then(
        (text) => {
          const tags = storedTags(text);
          if (tags.length > 0) fresh.set(docPath, tags);
        },
        () => undefined,
      );
      pending.push(task);
      if (pending.length >= REBUILD_CONCURRENCY) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    // What happened while we walked wins over what we read: replay it in order.
    for (const op of this.#sinceRebuild ?? []) applyOp(fresh, op);
    this.#index = fresh;
    this.#sinceRebuild = undefined;
    if (!this.#closed) await this.#compact();
    return fresh.stats().files;
  }
}

export function applyOp(index: TagIndex, op: JournalOp): void {
  if (op.op === 'set') index.set(op.docPath, op.tags);
  else if (op.op === 'forget') index.forget(op.docPath);
  else index.forgetUnder(op.docPath);
}

/**
 * Reads a docroot's saved index without opening it for writing (dry runs from the CLI while the
 * server runs): snapshot + journal as they are on disk now.
 */
export async function readSavedIndex(stateDir: string, realDocroot: string): Promise<{ index: TagIndex; found: boolean }> {
  const dir = tagIndexDir(stateDir, realDocroot);
  const index = new TagIndex();
  let found = false;
  const snapText = await fs.readFile(path.join(dir, SNAPSHOT), 'utf8').catch(() => undefined);
  if (snapText !== undefined) {
    const lines = snapText.split('\n');
    const header = decodeSnapshotHeader(lines[0] ?? '');
    if (header.ok && header.value.docroot === realDocroot) {
      found = true;
      for (const line of lines.slice(1)) {
        const entry = line ? decodeSnapshotEntry(line) : undefined;
        if (entry?.ok) index.set(entry.value.docPath, entry.value.tags);
      }
    }
  }
  const journalText = await fs.readFile(path.join(dir, JOURNAL), 'utf8').catch(() => undefined);
  if (journalText !== undefined) {
    found = true;
    const lines = journalText.split('\n');
    if (!journalText.endsWith('\n')) lines.pop();
    for (const line of lines) {
      const op = line ? decodeOp(line) : undefined;
      if (op?.ok) applyOp(index, op.value);
    }
  }
  return { index, found };
}
