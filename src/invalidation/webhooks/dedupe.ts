/**
 * Keys of webhooks already applied (idempotency keys, timestamped signatures), so a retry or a
 * replay is answered 200 without invalidating again. Bounded: entries older than the window go,
 * and at most `max` are kept (oldest dropped first). A key is remembered only once its webhook
 * was applied; a retry of one that failed is applied. Pure bookkeeping, no I/O.
 *
 * In memory, per server: behind a load balancer a retry may reach another server, which applies
 * it again. That is harmless (invalidations are idempotent) and only costs renders.
 */
export const DEDUPE_WINDOW_MS = 60 * 60_000;
export const DEDUPE_MAX_KEYS = 10_000;

export class RecentKeys {
  /** key → when it was applied, oldest first. */
  readonly #applied = new Map<string, number>();
  readonly #inFlight = new Map<string, Promise<boolean>>();

  constructor(
    readonly windowMs = DEDUPE_WINDOW_MS,
    readonly max = DEDUPE_MAX_KEYS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#applied.size;
  }

  /** Was any of these keys applied within the window? */
  seen(keys: readonly string[]): boolean {
    this.#prune();
    return keys.some((k) => this.#applied.has(k));
  }

  /** The outcome of a request with one of these keys still being applied, if any. */
  pending(keys: readonly string[]): Promise<boolean> | undefined {
    for (const k of keys) {
      const p = this.#inFlight.get(k);
      if (p) return p;
    }
    return undefined;
  }

  /** Runs `apply` as the one in flight for these keys; remembers them when it succeeds. */
  async run<T>(keys: readonly string[], apply: () => Promise<T>): Promise<T> {
    let done!: (ok: boolean) => void;
    const outcome = new Promise<boolean>((r) => (done = r));
    for (const k of keys) this.#inFlight.set(k, outcome);
    try {
      const result = await apply();
      this.#remember(keys);
      done(true);
      return result;
    } catch (err) {
      done(false);
      throw err;
    } finally {
      for (const k of keys) if (this.#inFlight.get(k) === outcome) this.#inFlight.delete(k);
    }
  }

  #remember(keys: readonly string[]): void {
    const now = this.now();
    for (const k of keys) {
      this.#applied.delete(k);
      this.#applied.set(k, now);
    }
    this.#prune();
  }

  #prune(): void {
    const now = this.now();
    for (const [k, at] of this.#applied) {
      if (now - at < this.windowMs && this.#applied.size <= this.max) break;
      this.#applied.delete(k);
    }
  }
}
