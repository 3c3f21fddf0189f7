/**
 * Sending this server's flushes: straight to the stream when Redis is there and the outbox is
 * empty, else into the fsync'd outbox, which drains in order when Redis returns.
 *
 * Order: every publish runs through one promise chain, in the order flushes were applied. A
 * publish goes direct only when the outbox is empty, checked inside the chain, and the drain
 * marks an entry sent only after its XADD returned, so no event overtakes an older one.
 *
 * Replay: the events sent in the last `replayWindowMs` are kept in memory. When Redis comes back
 * without its data (a new stream epoch), they are sent again, before the outbox, so a server
 * that had not read them yet still gets them; receivers skip ids they already applied.
 */
import type { Logger } from '../logger.js';
import type { SignedEntry } from './event.js';
import type { Outbox } from './outbox.js';
import { minIdFor, type StreamClient } from './stream.js';

export interface PublisherDeps {
  readonly client: StreamClient;
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly retentionMs: number;
  readonly replayWindowMs: number;
  readonly now: () => number;
  /** Joined to the current stream epoch (set by the session). */
  readonly canSend: () => boolean;
  readonly onPublished: () => void;
  readonly onOutboxDepth: (depth: number) => void;
}

const MAX_REPLAY = 10_000;

export class Publisher {
  readonly #d: PublisherDeps;
  #chain: Promise<void> = Promise.resolve();
  #recent: { entry: SignedEntry; sentAt: number }[] = [];
  #draining: Promise<void> | undefined;
  #warned = false;

  constructor(deps: PublisherDeps) {
    this.#d = deps;
    deps.onOutboxDepth(deps.outbox.depth);
  }

  /** Resolves once the entry is in Redis or fsync'd in the outbox; rejects only if neither. */
  publish(entry: SignedEntry): Promise<void> {
    return this.#enqueue(async () => {
      const { outbox } = this.#d;
      if (outbox.depth === 0 && this.#d.canSend()) {
        try {
          await this.#send(entry);
          this.#warned = false;
          return;
        } catch (err) {
          if (!this.#warned) this.#d.log.warn({ err: (err as Error).message }, 'redis unreachable: flushes go to the local outbox');
          this.#warned = true;
        }
      }
      await outbox.append(entry);
      this.#d.onOutboxDepth(outbox.depth);
      this.kick();
    });
  }

  /** Sends what the outbox holds, oldest first, while Redis takes it. */
  kick(): void {
    if (this.#draining || this.#d.outbox.depth === 0 || !this.#d.canSend()) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  async #drain(): Promise<void> {
    const { outbox, log } = this.#d;
    const started = outbox.depth;
    let sent = 0;
    while (this.#d.canSend()) {
      const entry = outbox.peek();
      if (!entry) break;
      try {
        await this.#send(entry);
      } catch (err) {
        log.warn({ err: (err as Error).message, left: outbox.depth }, 'outbox drain paused: redis unreachable');
        return;
      }
      await outbox.markSent();
      this.#d.onOutboxDepth(outbox.depth);
      sent++;
    }
    if (sent > 0) log.info({ sent, of: started, left: outbox.depth }, 'outbox drained to redis');
  }

  /** Sends again, in order, what was sent in the last `replayWindowMs` (the stream was lost). */
  replay(): Promise<number> {
    return new Promise((resolve) => {
      void this.#enqueue(async () => {
        const since = this.#d.now() - this.#d.replayWindowMs;
        const again = this.#recent.filter((r) => r.sentAt >= since);
        this.#recent = [];
        let n = 0;
        for (const { entry } of again) {
          try {
            await this.#send(entry);
            n++;
          } catch {
            await this.#d.outbox.append(entry);
            this.#d.onOutboxDepth(this.#d.outbox.depth);
          }
        }
        if (again.length > 0) this.#d.log.warn({ events: again.length }, 'stream lost: re-sent this server\'s recent events');
        resolve(n);
      });
    });
  }

  /** Waits for publishes and a drain in progress. */
  async settle(): Promise<void> {
    await this.#chain;
    await this.#draining;
  }

  async #send(entry: SignedEntry): Promise<void> {
    const now = this.#d.now();
    await this.#d.client.add(entry, minIdFor(now - this.#d.retentionMs));
    this.#d.onPublished();
    this.#recent.push({ entry, sentAt: now });
    if (this.#recent.length > MAX_REPLAY || (this.#recent[0] && this.#recent[0].sentAt < now - this.#d.replayWindowMs)) {
      const cut = this.#recent.findIndex((r) => r.sentAt >= now - this.#d.replayWindowMs);
      this.#recent = this.#recent.slice(Math.max(cut < 0 ? this.#recent.length : cut, this.#recent.length - MAX_REPLAY));
    }
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }
}
