/**
 * The last flushes applied on this server (local and, with propagation, received), newest first,
 * for the admin page and `/admin/api/flushes`. A bounded ring: memory does not grow with traffic.
 */
export interface RecentFlush {
  readonly time: string;
  /** The server that received the flush from AEM (this one for local flushes). */
  readonly origin: string;
  readonly action: string;
  readonly scope: string | undefined;
  readonly handle: string;
  readonly path: string;
  readonly farms: readonly string[];
  /** `.stat` files touched and files deleted; null when not known (an event from another server). */
  readonly touched: number | null;
  readonly deleted: number | null;
  readonly ms: number | null;
  /** `ok`, or the error that made it fail. */
  readonly result: string;
}

export class RecentFlushes {
  readonly #items: RecentFlush[] = [];

  constructor(readonly capacity = 200) {}

  record(item: RecentFlush): void {
    this.#items.unshift(item);
    if (this.#items.length > this.capacity) this.#items.length = this.capacity;
  }

  list(): readonly RecentFlush[] {
    return this.#items;
  }
}
