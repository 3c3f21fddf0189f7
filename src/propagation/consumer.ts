/**
 * The read loop: this server's consumer group, one blocking XREADGROUP at a time on the
 * dedicated connection (no polling: an XADD wakes it), events applied one by one in stream
 * order, each acknowledged after it was applied, skipped (own, duplicate) or refused (bad
 * signature, unknown version, malformed).
 *
 * After a start, a reconnect or a release, the group's pending entries (delivered, not yet
 * acknowledged: a crash or a hold came in between) are read first, then new ones.
 */
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ApplyEvent } from './apply-remote.js';
import type { SessionView } from './session.js';
import { decodeEntry, isTagEvent, type PropagatedEvent } from './event.js';
import { isNoGroup, type StreamClient, type StreamEntry } from './stream.js';

export type HistoryResult = 'applied' | 'failed' | 'duplicate' | 'own' | 'rejected';

export interface HistoryRecord {
  readonly streamId: string;
  readonly id: string | undefined;
  readonly origin: string | undefined;
  readonly action: string | undefined;
  readonly handle: string | undefined;
  readonly result: HistoryResult;
  readonly at: number;
  readonly farms?: string[];
  readonly error?: string;
  readonly attempts?: number;
}

export interface ConsumerDeps {
  readonly client: StreamClient;
  readonly group: string;
  readonly secret: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Applies one event (run-flush, door `propagation`). */
  readonly apply: ApplyEvent;
  readonly retryDelaysMs: readonly number[];
  readonly blockMs: number;
  readonly batch: number;
  readonly now: () => number;
  /** Joined? Held? (propagation/session.ts) */
  readonly session: SessionView;
  /** A NOGROUP reply: the session must join again. */
  readonly onLostGroup: () => void;
  readonly coldFlush: (reason: string) => Promise<void>;
  readonly onRead: () => void;
}

const HISTORY = 2000;
const RECENT_IDS = 10_000;

export class Consumer {
  readonly #d: ConsumerDeps;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #cursor: '>' | '0' = '0';
  readonly #seen = new Set<string>();
  readonly history: HistoryRecord[] = [];
  readonly failed: HistoryRecord[] = [];
  counts = { applied: 0, failed: 0, rejected: 0, duplicate: 0, own: 0 };
  #sleepTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #lastError = '';

  constructor(deps: ConsumerDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Re-read pending entries before new ones (after a release or a rejoin). */
  rewind(): void {
    this.#cursor = '0';
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#sleepTimer);
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const d = this.#d;
    while (!this.#stopping) {
      if (!d.session.active) {
        await d.session.whenJoined();
        this.#cursor = '0';
        continue;
      }
      if (d.session.holding) {
        await d.session.whenReleased();
        this.#cursor = '0';
        continue;
      }
      try {
        const cursor = this.#cursor;
        const entries = await d.client.read(d.group, cursor, d.batch, d.blockMs);
        d.onRead();
        this.#lastError = '';
        if (cursor === '0' && entries.length === 0) {
          this.#cursor = '>';
          continue;
        }
        await this.#handle(entries);
      } catch (err) {
        if (this.#stopping) break;
        this.#cursor = '0';
        if (isNoGroup(err)) {
          d.onLostGroup();
          continue;
        }
        const message = (err as Error).message;
        if (message !== this.#lastError) d.log.warn({ err: message }, 'reading the flush stream failed; retrying');
        this.#lastError = message;
        await this.#sleep(200);
      }
    }
  }

  async #handle(entries: readonly StreamEntry[]): Promise<void> {
    const d = this.#d;
    for (const entry of entries) {
      if (this.#stopping) return;
      if (d.session.holding) {
        // Held mid-batch: the rest stay pending in the group and are read again on release.
        this.#cursor = '0';
        return;
      }
      if (!entry.fields) {
        // Delivered before, never acknowledged, and trimmed since: we cannot know what it was.
        await d.coldFlush(`pending event ${entry.id} was trimmed before it was applied`);
        await d.client.ack(d.group, [entry.id]);
        continue;
      }
      const decoded = decodeEntry(entry.fields, d.secret);
      if (!decoded.ok) {
        this.counts.rejected++;
        d.metrics.propagationRejected.inc({ reason: decoded.reason });
        d.log.error({ streamId: entry.id, reason: decoded.reason, detail: decoded.detail }, 'propagated event rejected; nothing applied');
        this.#record({ streamId: entry.id, id: undefined, origin: undefined, action: undefined, handle: undefined, result: 'rejected', at: d.now(), error: decoded.detail });
        await d.client.ack(d.group, [entry.id]);
        continue;
      }
      const event = decoded.event;
      if (event.origin === d.group) {
        // Our own flush: applied before it was sent.
        this.counts.own++;
        await d.client.ack(d.group, [entry.id]);
        continue;
      }
      if (this.#seen.has(event.id)) {
        // Sent twice (a replay after Redis lost its data, an XADD whose reply was lost).
        this.counts.duplicate++;
        this.#record(base(entry.id, event, 'duplicate', d.now()));
        await d.client.ack(d.group, [entry.id]);
        continue;
      }
      const outcome = await d.apply(event, {
        delaysMs: d.retryDelaysMs,
        sleep: (ms) => this.#sleep(ms),
        shouldStop: () => this.#stopping,
      });
      if (outcome.error !== undefined && this.#stopping) return; // not acked: retried after the restart
      if (outcome.error !== undefined) {
        this.counts.failed++;
        d.metrics.propagationFailed.inc();
        const rec = { ...base(entry.id, event, 'failed', d.now()), error: outcome.error, attempts: outcome.attempts };
        this.failed.push(rec);
        if (this.failed.length > 100) this.failed.shift();
        this.#record(rec);
        d.log.error({ streamId: entry.id, id: event.id, origin: event.origin, handle: eventLabel(event), action: event.action, attempts: outcome.attempts, err: outcome.error }, 'propagated event failed; recorded, going on with the next');
      } else {
        this.counts.applied++;
        d.metrics.propagationApplied.inc();
        this.#record({ ...base(entry.id, event, 'applied', d.now()), farms: outcome.farms, attempts: outcome.attempts });
        d.log.debug({ streamId: entry.id, id: event.id, origin: event.origin, handle: eventLabel(event), farms: outcome.farms }, 'propagated flush applied');
      }
      this.#remember(event.id);
      await d.client.ack(d.group, [entry.id]);
    }
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (this.#seen.size > RECENT_IDS) this.#seen.delete(this.#seen.values().next().value!);
  }

  #record(rec: HistoryRecord): void {
    this.history.push(rec);
    if (this.history.length > HISTORY) this.history.shift();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = setTimeout(resolve, ms);
    });
  }
}

/** What the history shows as the event's handle: its handle, or its tags. */
export function eventLabel(event: PropagatedEvent): string {
  return isTagEvent(event) ? `tags: ${event.tags.join(' ')}` : event.handle;
}

function base(streamId: string, event: PropagatedEvent, result: HistoryResult, at: number): HistoryRecord {
  return { streamId, id: event.id, origin: event.origin, action: event.action, handle: eventLabel(event), result, at };
}
