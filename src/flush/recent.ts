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
  /** Newest first; each line with its arrival number, so the two rings merge in arrival order. */
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
    ring.unshift([++this.#seq, item]);
    const max = refused ? this.refusedCapacity : this.capacity;
    if (ring.length > max) ring.length = max;
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

  /** Newest first, both rings merged. */
  list(): RecentFlush[] {
    const out: RecentFlush[] = [];
    let i = 0;
    let j = 0;
    while (i < this.#items.length || j < this.#refused.length) {
      const a = this.#items[i];
      const b = this.#refused[j];
      if (b === undefined || (a !== undefined && a[0] > b[0])) out.push(this.#items[i++]![1]);
      else out.push(this.#refused[j++]![1]);
    }
    return out;
  }
}
