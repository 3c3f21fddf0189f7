/**
 * Where a server is in the stream, and whether it missed anything.
 *
 * The position is a Redis consumer group per server (group name = `server.name`), not a state
 * file. Why:
 * - Delivery and position move together in Redis: XREADGROUP records the entries it hands out
 *   in the group's pending list, XACK (after applying) removes them. A crash between applying
 *   and acking re-delivers on start; applying is idempotent, so at-least-once is exactly once in
 *   effect.
 * - Redis counts per group how many entries were added that the group has not read
 *   (`XINFO GROUPS` → `lag`, from `entries-added − entries-read`). That count still includes
 *   entries trimmed away, so comparing it with the entries still there after the group's
 *   position tells exactly how many a server lost to retention (`trimmedUnread`).
 * - Every server can see every other server's position, so /admin shows the lag of a server
 *   that is down, which a state file on that server could not.
 * What a group cannot survive is Redis losing its data (a restart without persistence). So
 * the stream gets an epoch (a random key set once, `SET NX`); the epoch this server last read
 * is kept in `stateDir/propagation.json` with the hold flag, and a changed epoch is detected
 * on every reconnect (see `joinDecision`).
 */
import path from 'node:path';
import { readJson, writeFileAtomic } from './state-file.js';

/** One group's line of `XINFO GROUPS`, as we use it. */
export interface GroupInfo {
  readonly name: string;
  readonly pending: number;
  readonly lastDeliveredId: string;
  /** Entries added after the group's position (trimmed ones included); null when Redis cannot tell. */
  readonly lag: number | null;
  /**
   * Whether `lag` is counted (`entries-read` known) rather than estimated: Redis estimates as
   * if nothing was trimmed, so only a counted lag can reveal a loss.
   */
  readonly lagExact?: boolean;
}

/**
 * Events a server is behind the head: not yet delivered plus delivered-but-unacked (being
 * applied, or held in the pending list).
 */
export function lagEvents(group: Pick<GroupInfo, 'lag' | 'pending'>, fallbackUndelivered = 0): number {
  return (group.lag ?? fallbackUndelivered) + group.pending;
}

/**
 * How many entries after the group's position were trimmed before it read them. Trimming
 * removes the oldest entries first, so while the position is at or after the stream's first
 * entry nothing after it is gone. Otherwise every entry still there is after the position, and
 * a counted `lag` (entries added after the position) minus the stream's length is the loss.
 * Without a counted lag we cannot tell, and treat it as lost: a needless cold flush costs
 * renders, a missed flush serves stale pages.
 *
 * @example trimmedUnread({ lag: 4, position: '100-0', firstId: '500-0', length: 1 }) // 3
 */
export function trimmedUnread(input: { lag: number | null; position: string; firstId: string | undefined; length: number }): number {
  if (input.firstId !== undefined && compareIds(input.position, input.firstId) >= 0) return 0;
  if (input.lag !== null) return Math.max(0, input.lag - input.length);
  // A group that has read nothing (0-0) before an empty stream has nothing to lose.
  return input.position === '0-0' && input.length === 0 ? 0 : 1;
}

/** Stream ids compare as (ms, seq) pairs. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? Math.sign(am - bm) : Math.sign(as - bs);
}

export interface JoinDecision {
  /** Where our group starts if it has to be created: `$` (only new events) or `0` (the whole stream). */
  readonly startAt: '$' | '0';
  readonly coldFlush: string | undefined;
}

/**
 * What to do on (re)connecting to Redis, from the epoch we knew, the epoch Redis has, whether
 * our group exists, and when we last read the old epoch.
 * - first join (no epoch known): start at the head; nothing to catch up with.
 * - same epoch, group there: resume from the group.
 * - same epoch, group gone (destroyed by hand): our position is lost → cold flush, start at head.
 * - new epoch (Redis lost its data): read the new stream from its start (outboxes and replays
 *   land there). If we were reading the old stream until moments ago, origins re-send what
 *   they sent in the last `replayWindowMs`, which covers our gap; otherwise cold flush.
 */
export function joinDecision(input: {
  knownEpoch: string | undefined;
  epoch: string;
  groupExists: boolean;
  lastReadAt: number | undefined;
  now: number;
  replayWindowMs: number;
}): JoinDecision {
  if (input.knownEpoch === undefined) return { startAt: '$', coldFlush: undefined };
  if (input.knownEpoch === input.epoch) {
    return input.groupExists
      ? { startAt: '$', coldFlush: undefined }
      : { startAt: '$', coldFlush: 'this server\'s consumer group is gone from Redis' };
  }
  const covered = input.lastReadAt !== undefined && input.now - input.lastReadAt < input.replayWindowMs / 2;
  return {
    startAt: '0',
    coldFlush: covered ? undefined : 'the stream was lost (Redis restarted without its data) while this server was away',
  };
}

/** What this server keeps on disk about propagation (besides the outbox). */
export interface LocalState {
  readonly v: 1;
  /** The stream epoch last joined. */
  readonly epoch?: string;
  /** Held (deployments): survives a restart, so a deployment's restart does not release. */
  readonly held?: boolean;
}

export class LocalStateFile {
  readonly file: string;
  #state: LocalState = { v: 1 };

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'propagation.json');
  }

  async load(): Promise<LocalState> {
    const s = await readJson<LocalState>(this.file);
    this.#state = s && s.v === 1 ? s : { v: 1 };
    return this.#state;
  }

  get state(): LocalState {
    return this.#state;
  }

  async update(patch: Partial<Omit<LocalState, 'v'>>): Promise<void> {
    this.#state = { ...this.#state, ...patch, v: 1 };
    await writeFileAtomic(this.file, JSON.stringify(this.#state) + '\n');
  }
}
