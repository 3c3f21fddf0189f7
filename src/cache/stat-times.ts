/**
 * The `.stat` mtimes a store keeps in memory, so the HIT path need not touch the disk: "a `.stat`
 * or cached file changed by another process is noticed within `cache.statCheckIntervalMs`"
 * (contract section 3). Keys are whatever the store names `.stat` files by (absolute paths for
 * the file-system store); a time farmgate set itself is known at once.
 */
import type { StatLookup } from './store.js';

interface Known {
  mtimeMs: number | undefined;
  checkedAt: number;
}

export class StatTimes {
  readonly #known = new Map<string, Known>();
  /** Counts forget() calls: a read that overlapped one is not kept (it may predate a delete). */
  #forgets = 0;

  constructor(
    private readonly now: () => number,
    /** Reads a `.stat`'s mtime (undefined when absent). */
    private readonly read: (key: string) => Promise<number | undefined>,
  ) {}

  /** Nearest existing `.stat`'s mtime from memory; 'check' when one on the way is due. No allocation. */
  peek(lookup: StatLookup, maxAgeMs: number): number | undefined | 'check' {
    const now = this.now();
    for (let i = 0; i < lookup.length; i++) {
      const t = this.#known.get(lookup[i]!);
      if (!t || now - t.checkedAt >= maxAgeMs) return 'check';
      if (t.mtimeMs !== undefined) return t.mtimeMs;
    }
    return undefined;
  }

  /** Nearest existing `.stat`'s mtime, reading those that are due. */
  async nearest(lookup: StatLookup, maxAgeMs: number): Promise<number | undefined> {
    const now = this.now();
    for (const key of lookup) {
      let t = this.#known.get(key);
      if (!t || now - t.checkedAt >= maxAgeMs) {
        const before = t;
        const forgets = this.#forgets;
        const read: Known = { mtimeMs: await this.read(key), checkedAt: now };
        // A flush may have touched (set) or deleted (forget) this `.stat` while it was read: what
        // it did is newer than the read and stays; the read answers this request only.
        if (this.#known.get(key) === before && this.#forgets === forgets) this.#known.set(key, read);
        t = this.#known.get(key) ?? read;
      }
      if (t.mtimeMs !== undefined) return t.mtimeMs;
    }
    return undefined;
  }

  /** We set this `.stat`'s mtime ourselves. */
  set(key: string, mtimeMs: number): void {
    this.#known.set(key, { mtimeMs, checkedAt: this.now() });
  }

  /** Forgets a `.stat`, or (prefix ending in a separator) every one below a folder. */
  forget(keyOrPrefix: string, tree: boolean): void {
    this.#forgets++;
    if (!tree) {
      this.#known.delete(keyOrPrefix);
      return;
    }
    for (const key of this.#known.keys()) if (key.startsWith(keyOrPrefix)) this.#known.delete(key);
  }
}
