/**
 * One atomic cache write on disk: the body streams to a temporary file in the target's folder
 * while it streams to the client, then commit() has the store install it (fence check, sidecars,
 * rename) or abort() removes it. A failure is reported once and never thrown: the client's
 * response goes on (undici lib/handler/cache-handler.js: a write error drops the entry).
 */
import type { WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { CacheWrite, StoredMeta } from './store.js';

/** What a write needs from its store (fs-store.ts); an interface, so the two files form no cycle. */
export interface WriteTarget {
  /** Bodies up to this size are kept for the hot layer. */
  readonly maxBodyBytes: number;
  /** Undefined when the file cannot be stored and that is no fault (a file/folder collision). */
  openTemp(docPath: string): Promise<{ tmp: string; stream: WriteStream } | undefined>;
  install(docPath: string, tmp: string, startedAt: number, meta: StoredMeta, body: Buffer | undefined, size: number): Promise<boolean>;
  reportError(op: string, docPath: string, err: unknown): void;
}

export class FileCacheWrite implements CacheWrite {
  #open: Promise<{ tmp: string; stream: WriteStream } | undefined> | undefined;
  #failed = false;
  #size = 0;
  #chunks: Buffer[] | undefined = [];

  constructor(
    private readonly target: WriteTarget,
    readonly docPath: string,
    readonly startedAt: number,
  ) {}

  #temp() {
    this.#open ??= this.target.openTemp(this.docPath).then(
      (t) => {
        if (!t) this.#failed = true; // not stored, not reported: the response is served as a MISS
        t?.stream.on('error', (err) => this.#fail('write', err));
        return t;
      },
      (err) => {
        this.#fail('open', err);
        return undefined;
      },
    );
    return this.#open;
  }

  #fail(op: string, err: unknown): void {
    if (!this.#failed) this.target.reportError(op, this.docPath, err);
    this.#failed = true;
  }

  get size(): number {
    return this.#size;
  }

  /** Buffers for the hot layer while small; never throws. */
  write(chunk: Buffer): void {
    if (this.#failed) return;
    this.#size += chunk.length;
    if (this.#chunks) {
      if (this.#size <= this.target.maxBodyBytes) this.#chunks.push(chunk);
      else this.#chunks = undefined;
    }
    void this.#temp().then((t) => {
      if (t && !this.#failed) t.stream.write(chunk);
    });
  }

  async commit(meta: StoredMeta): Promise<boolean> {
    const t = await this.#temp();
    if (!t || this.#failed) {
      await this.abort();
      return false;
    }
    try {
      t.stream.end();
      await finished(t.stream);
      const body = this.#chunks ? Buffer.concat(this.#chunks) : undefined;
      return await this.target.install(this.docPath, t.tmp, this.startedAt, meta, body, this.#size);
    } catch (err) {
      this.#fail('commit', err);
      await fs.rm(t.tmp, { force: true }).catch(() => {});
      return false;
    }
  }

  async abort(): Promise<void> {
    this.#failed = true;
    const t = await this.#open;
    if (!t) return;
    // The file is opened asynchronously: wait until the stream has closed its descriptor, or
    // an open still pending would create the file after we removed it.
    if (!t.stream.closed) {
      const closed = new Promise<void>((resolve) => t.stream.once('close', () => resolve()));
      t.stream.destroy();
      await closed;
    }
    await fs.rm(t.tmp, { force: true }).catch(() => {});
  }
}
