/**
 * One atomic cache write: the body streams to a temporary file in the target's folder while it
 * streams to the client, then commit() renames it into place (DocrootCache.install) or abort()
 * removes it. A write failure is reported once and never thrown: the client's response goes on.
 */
import type { WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { DocrootCache } from './docroot-cache.js';

export class CacheWrite {
  #open: Promise<{ tmp: string; stream: WriteStream } | undefined> | undefined;
  #failed = false;
  #size = 0;
  #chunks: Buffer[] | undefined = [];

  constructor(
    readonly cache: DocrootCache,
    readonly docPath: string,
    readonly startedAt: number,
  ) {}

  #target() {
    this.#open ??= this.cache.openTemp(this.docPath).then(
      (t) => {
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
    if (!this.#failed) this.cache.reportError(op, this.docPath, err);
    this.#failed = true;
  }

  get failed(): boolean {
    return this.#failed;
  }

  get size(): number {
    return this.#size;
  }

  /** Buffers for the hot layer while small; never throws. */
  write(chunk: Buffer): void {
    if (this.#failed) return;
    this.#size += chunk.length;
    if (this.#chunks) {
      if (this.#size <= this.cache.hot.maxEntryBytes) this.#chunks.push(chunk);
      else this.#chunks = undefined;
    }
    void this.#target().then((t) => {
      if (t && !this.#failed) t.stream.write(chunk);
    });
  }

  /** Moves the complete file into place. Never throws; a failure is reported and cleaned up. */
  async commit(headers: [string, string][], ttlExpiresMs: number | undefined): Promise<boolean> {
    const t = await this.#target();
    if (!t || this.#failed) {
      await this.abort();
      return false;
    }
    try {
      t.stream.end();
      await finished(t.stream);
      const body = this.#chunks ? Buffer.concat(this.#chunks) : undefined;
      return await this.cache.install(this.docPath, t.tmp, this.startedAt, headers, ttlExpiresMs, body, this.#size);
    } catch (err) {
      this.#fail('commit', err);
      await fs.rm(t.tmp, { force: true }).catch(() => {});
      return false;
    }
  }

  /** Drops the temporary file. */
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

