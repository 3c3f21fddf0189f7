/**
 * The last flushes seen on this server (local and, with propagation, received), newest first,
 * for the admin page and `/admin/api/flushes`: applied, failed, Test, unrouted and refused ones.
 * Bounded rings: memory does not grow with traffic, and refusals (which anyone who can reach the
 * port can cause) have a ring of their own, so a flood of them never pushes the real flushes out.
 */
import type { FlushDoor, RecentFlush } from './types.js';

/** A request refused (or understood as nothing to do) before any flush ran. */
export interface NotRun {
  readonly at: number;
  readonly origin: string;
  readonly door: FlushDoor;
  readonly client: string;
  readonly action?: string | undefined;
  readonly scope?: string | undefined;
  readonly handle?: string | undefined;
  readonly path?: string | undefined;
  readonly status: number;
  readonly reason: string;
  /** `refused` (default), or `unrouted` for a request understood but naming nothing to flush. */
  readonly outcome?: 'refused' | 'unrouted';
}

export class RecentFlushes {
  /**
   * Oldest first (appended: a burst of flushes records thousands a second), each line with its
   * arrival number, so the two rings merge in arrival order; trimmed to capacity in batches.
   */
  readonly #items: [number, RecentFlush][] = [];
  readonly #refused: [number, RecentFlush][] = [];
  #seq = 0;

  constructor(
    readonly capacity = 200,
    readonly refusedCapacity = 50,
  ) {}

  record(item: RecentFlush): void {
    const refused = item.outcome === 'refused';
    const ring = refused ? this.#refused : this.#items;
    ring.push([++this.#seq, item]);
    const max = refused ? this.refusedCapacity : this.capacity;
    if (ring.length >= 2 * max) ring.splice(0, ring.length - max);
  }

  /** A request refused before any flush ran (the flush endpoint, the invalidation API, webhooks). */
  notRun(r: NotRun): void {
    this.record({
      time: new Date(r.at).toISOString(),
      origin: r.origin,
      door: r.door,
      client: r.client,
      action: r.action ?? 'Activate',
      scope: r.scope,
      handle: r.handle ?? '',
      path: r.path ?? r.handle ?? '',
      farms: [],
      touched: 0,
      deleted: 0,
      ms: 0,
      outcome: r.outcome ?? 'refused',
      status: r.status,
      result: r.reason,
    });
  }

  /** Newest first, both rings merged, at most capacity + refusedCapacity lines. */
  list(): RecentFlush[] {
    const out: RecentFlush[] = [];
    let i = this.#items.length - 1;
    let j = this.#refused.length - 1;
    const iEnd = Math.max(-1, this.#items.length - 1 - this.capacity);
    const jEnd = Math.max(-1, this.#refused.length - 1 - this.refusedCapacity);
    while (i > iEnd || j > jEnd) {
      const a = i > iEnd ? this.#items[i] : undefined;
      const b = j > jEnd ? this.#refused[j] : undefined;
      if (b === undefined || (a !== undefined && a[0] > b[0])) {
        out.push(a![1]);
        i--;
      } else {
        out.push(b[1]);
        j--;
      }
    }
    return out;
  }
}
