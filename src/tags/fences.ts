/**
 * When each tag was last invalidated, so that a render already in flight when a tag is
 * invalidated never stores its (older) page afterwards. The same guarantee DeletionFences gives
 * path flushes, for files nobody knew carried the tag yet: the page's tags are only known when
 * its render answers. Pure bookkeeping, no I/O.
 *
 * A fence is kept FENCE_KEPT_MS. A render that started before a fence that has since been dropped
 * cannot be checked any more, and its page is not stored (`predates` answers true): one more
 * render of a page that took over 15 minutes to arrive, never a stale page.
 */
export const FENCE_KEPT_MS = 15 * 60_000;

export class TagFences {
  /** tag → last invalidation time, oldest first (insertion order). */
  readonly #at = new Map<string, number>();
  /** The newest invalidation time whose fence was dropped. */
  #droppedUpTo = -Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.#at.size;
  }

  /** The tags are being invalidated now. */
  note(tags: Iterable<string>, at = this.now()): void {
    for (const tag of tags) {
      this.#at.delete(tag);
      this.#at.set(tag, at);
    }
    this.#prune(at);
  }

  /**
   * Does a page whose render request started at `startedAt` predate an invalidation of one of
   * its tags (then it must not be stored)? Equal times count as older, as for `.stat` files.
   */
  predates(tags: readonly string[], startedAt: number): boolean {
    if (tags.length === 0) return false;
    if (startedAt <= this.#droppedUpTo) return true;
    if (this.#at.size === 0) return false;
    for (const tag of tags) {
      const at = this.#at.get(tag);
      if (at !== undefined && at >= startedAt) return true;
    }
    return false;
  }

  #prune(now: number): void {
    for (const [tag, at] of this.#at) {
      if (now - at < FENCE_KEPT_MS) break;
      this.#at.delete(tag);
      this.#droppedUpTo = Math.max(this.#droppedUpTo, at);
    }
  }
}
