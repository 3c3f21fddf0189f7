/**
 * The propagation session: where this server stands with the stream, in one object. `epoch`, the
 * stream epoch last joined (position.ts: a new one means Redis lost its data), `joined` to it (set
 * after a successful join, cleared when the connection is lost or our group vanished), `held` (a
 * deployment: events are recorded, not applied), `stopping`. The caller persists epoch and held
 * (stateDir/propagation.json). The publisher sends only while joined; the consumer reads only while
 * joined and not held, and waits on `whenJoined` / `whenReleased` instead of polling.
 */
export interface SessionView {
  /** Joined and not stopping: reads and sends may go ahead. */
  readonly active: boolean;
  /** Held and not stopping: events stay pending. */
  readonly holding: boolean;
  readonly stopping: boolean;
  /** Resolves once joined (or stopping). */
  whenJoined(): Promise<void>;
  /** Resolves once released (or stopping). */
  whenReleased(): Promise<void>;
}

export class Session implements SessionView {
  #joined = false;
  #held = false;
  #epoch: string | undefined;
  #stopping = false;
  #joinWaiters: (() => void)[] = [];
  #releaseWaiters: (() => void)[] = [];

  /** What was persisted before a restart (the hold flag survives a deployment's restart). */
  restore(state: { held?: boolean | undefined; epoch?: string | undefined }): void {
    this.#held = state.held === true;
    this.#epoch = state.epoch;
  }

  /** The stream epoch last joined; undefined before the first join. */
  get epoch(): string | undefined {
    return this.#epoch;
  }

  get joined(): boolean {
    return this.#joined;
  }

  get held(): boolean {
    return this.#held;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  get active(): boolean {
    return this.#joined && !this.#stopping;
  }

  get holding(): boolean {
    return this.#held && !this.#stopping;
  }

  /** Joined to the stream's epoch `epoch`. */
  join(epoch: string): void {
    this.#epoch = epoch;
    this.#joined = true;
    wake(this.#joinWaiters);
  }

  /** The connection or our group is gone: join again before reading or sending. */
  lose(): void {
    this.#joined = false;
  }

  /** Sets the hold flag; true when it changed. */
  setHeld(held: boolean): boolean {
    if (this.#held === held) return false;
    this.#held = held;
    if (!held) wake(this.#releaseWaiters);
    return true;
  }

  stop(): void {
    this.#stopping = true;
    this.#joined = false;
    wake(this.#joinWaiters);
    wake(this.#releaseWaiters);
  }

  whenJoined(): Promise<void> {
    return this.active || this.#stopping ? Promise.resolve() : new Promise((r) => this.#joinWaiters.push(r));
  }

  whenReleased(): Promise<void> {
    return !this.#held || this.#stopping ? Promise.resolve() : new Promise((r) => this.#releaseWaiters.push(r));
  }

  /** Resolves at the first join, or after `timeoutMs` (Redis may be away: that is no error). */
  firstJoin(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      void this.whenJoined().then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function wake(list: (() => void)[]): void {
  list.splice(0).forEach((w) => w());
}
