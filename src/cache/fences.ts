/**
 * What flushes deleted, and when: files (`H`), `base(H).*` patterns and folder trees, as
 * absolute keys with their time. A cached copy whose render started before the deletion of its
 * path is gone, whatever the disk says (see DocrootCache). Entries older than KEPT_MS are
 * dropped: no render request lives that long. Pure bookkeeping, no I/O.
 */
import path from 'node:path';

const KEPT_MS = 15 * 60_000;

export class DeletionFences {
  /** key: abs file path, abs prefix ending in `.` (base.*) or abs folder path + sep */
  readonly #at = new Map<string, number>();

  constructor(
    readonly root: string,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.#at.size;
  }

  /** Records a deletion (or an imminent one) at now(). */
  note(key: string): void {
    const now = this.now();
    this.#at.delete(key);
    this.#at.set(key, now);
    // Oldest first (insertion order): drop what no render request can still be waiting on.
    for (const [k, at] of this.#at) {
      if (now - at < KEPT_MS) break;
      this.#at.delete(k);
    }
  }

  /**
   * When a flush last deleted or fenced this path (the file, a `base.*` pattern naming it, or a
   * folder above it), or 0. O(depth + dots in the name).
   */
  lastDeleted(absPath: string): number {
    if (this.#at.size === 0) return 0;
    let latest = this.#at.get(absPath) ?? 0;
    const dir = path.dirname(absPath);
    const name = path.basename(absPath);
    for (let i = name.indexOf('.'); i > 0; i = name.indexOf('.', i + 1)) {
      latest = Math.max(latest, this.#at.get(path.join(dir, name.slice(0, i + 1))) ?? 0);
    }
    for (let d = dir; d.length >= this.root.length; d = path.dirname(d)) {
      latest = Math.max(latest, this.#at.get(d + path.sep) ?? 0);
      if (d === this.root || d === path.dirname(d)) break;
    }
    return latest;
  }
}
