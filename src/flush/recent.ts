/**
 * The last flushes applied on this server (local and, with propagation, received), newest first,
 * for the admin page and `/admin/api/flushes`. A bounded ring: memory does not grow with traffic.
 */
import type { RecentFlush } from './types.js';

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
