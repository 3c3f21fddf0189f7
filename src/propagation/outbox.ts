/**
 * The local outbox (contract section 5, "Redis unreachable"): an append-only file of signed
 * entries under `server.stateDir`, one JSON line each, fsync'd before the flush is answered.
 * Drained in order when Redis returns, also after a restart.
 *
 * Files:
 * - `outbox.jsonl`: the entries, in acceptance order. A torn last line (a crash mid-write) was
 *   never fsync'd, so its flush was never answered 200: it is cut off on open.
 * - `outbox.sent`: how many leading lines are already in Redis. Written atomically after each
 *   send; losing it only re-sends events, which receivers skip by id (and applying is
 *   idempotent anyway). When every line is sent the outbox is truncated to empty.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SignedEntry } from './event.js';
import { writeFileAtomic } from './state-file.js';

export class Outbox {
  readonly file: string;
  readonly #sentFile: string;
  #handle: fs.FileHandle;
  #pending: SignedEntry[];
  #sent: number;
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, handle: fs.FileHandle, pending: SignedEntry[], sent: number) {
    this.file = path.join(dir, 'outbox.jsonl');
    this.#sentFile = path.join(dir, 'outbox.sent');
    this.#handle = handle;
    this.#pending = pending;
    this.#sent = sent;
  }

  /** Opens (creating) the outbox in `dir` and loads what was not sent yet. */
  static async open(dir: string): Promise<Outbox> {
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'outbox.jsonl');
    let text = '';
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const complete = text.lastIndexOf('\n') + 1;
    const lines = text.slice(0, complete).split('\n').filter((l) => l.length > 0);
    const entries: SignedEntry[] = [];
    for (const line of lines) {
      try {
        const e = JSON.parse(line) as SignedEntry;
        if (typeof e.v === 'string' && typeof e.payload === 'string' && typeof e.sig === 'string') entries.push(e);
      } catch {
        // A line that is not JSON cannot have been written by us whole; skip it.
      }
    }
    let sent = 0;
    try {
      sent = Number.parseInt(await fs.readFile(path.join(dir, 'outbox.sent'), 'utf8'), 10) || 0;
    } catch {
      sent = 0;
    }
    sent = Math.min(sent, entries.length);
    const handle = await fs.open(file, 'a+');
    if (complete < text.length) {
      // Cut a torn tail so the next append starts on a fresh line.
      await handle.truncate(Buffer.byteLength(text.slice(0, complete)));
      await handle.sync();
    }
    return new Outbox(dir, handle, entries.slice(sent), sent);
  }

  /** Entries waiting for Redis. */
  get depth(): number {
    return this.#pending.length;
  }

  /** The oldest unsent entry. */
  peek(): SignedEntry | undefined {
    return this.#pending[0];
  }

  /** Appends and fsyncs; resolves only once the entry is on disk. */
  append(entry: SignedEntry): Promise<void> {
    return this.#locked(async () => {
      await this.#handle.appendFile(JSON.stringify(entry) + '\n');
      await this.#handle.datasync();
      this.#pending.push(entry);
    });
  }

  /** Records that the oldest entry is in Redis. */
  markSent(): Promise<void> {
    return this.#locked(async () => {
      if (this.#pending.length === 0) return;
      this.#pending.shift();
      this.#sent += 1;
      if (this.#pending.length === 0) {
        await this.#handle.truncate(0);
        await this.#handle.sync();
        this.#sent = 0;
        await fs.rm(this.#sentFile, { force: true });
      } else {
        await writeFileAtomic(this.#sentFile, String(this.#sent), { fsync: false });
      }
    });
  }

  async close(): Promise<void> {
    await this.#lock.catch(() => undefined);
    await this.#handle.close();
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }
}
