/**
 * One critical section at a time per folder: installs (fence check, sidecars, rename) and the
 * listings and deletes of a flush in the same folder never interleave, so a listing never races a
 * rename farmgate makes (a readdir taken while names are renamed in can miss one) and a delete
 * never runs between an install's fence check and its rename. Sections are short (a few renames);
 * a section's failure never blocks the next.
 */
export class FolderLocks {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(folder: string, fn: () => Promise<T> | T): Promise<T> {
    const before = this.#tails.get(folder) ?? Promise.resolve();
    const result = before.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(folder, tail);
    void tail.then(() => {
      if (this.#tails.get(folder) === tail) this.#tails.delete(folder);
    });
    return result;
  }

  /**
   * A synchronous section: run at once when no section of the folder is pending (nothing else can
   * run while it does: it holds the thread), else queued behind them like `run`. The flush path's
   * listings and deletes take this way; they almost never wait.
   */
  runSync<T>(folder: string, fn: () => T): T | Promise<T> {
    return this.#tails.has(folder) ? this.run(folder, fn) : fn();
  }
}
