/**
 * The Redis side of propagation: the `StreamClient` interface (what the publisher, the consumer,
 * the registry and the session need) and its ioredis implementation, with one command connection
 * (XADD, XACK, XINFO, registry) and one dedicated connection (`duplicate()`) for the blocking
 * XREADGROUP, so a blocked read never delays a publish. Replies are parsed here; nothing else
 * sees ioredis. Unit tests use the fake in test/fakes/stream-client.ts; the integration tests run
 * this one against a real redis-server.
 *
 * Both connections fail fast while Redis is away (no offline queue, no automatic re-send of
 * commands in flight): the publisher then writes the outbox, the reader loop backs off, and
 * nothing is sent twice behind our back.
 */
import { Redis } from 'ioredis';
import type { SignedEntry } from './event.js';
import { fieldsToRecord } from './event.js';
import type { GroupInfo } from './position.js';

export interface StreamEntry {
  readonly id: string;
  /** Undefined when the entry was trimmed while pending (XREADGROUP returns its id only). */
  readonly fields: Record<string, string> | undefined;
}

export interface StreamInfo {
  readonly length: number;
  readonly firstId: string | undefined;
  readonly lastGeneratedId: string;
  readonly entriesAdded: number;
}

export interface StreamClientOptions {
  readonly url: string;
  readonly stream: string;
  readonly name: string;
  /** Longest wait for a non-blocking command. */
  readonly commandTimeoutMs?: number;
}

/** Connection events: `ready` (connected, also after a reconnect), `close` (lost), `error`. */
export interface StreamConnectionEvents {
  ready(): void;
  close(): void;
  error(err: Error): void;
}

export interface StreamClient {
  /** The stream's key (`propagation.redis.stream`). */
  readonly stream: string;
  /** Connected and usable for commands. */
  readonly ready: boolean;
  /** The command connection's state, as shown on /admin (`ready`, `connecting`, `reconnecting`, `end`…). */
  readonly status: string;
  on<E extends keyof StreamConnectionEvents>(event: E, listener: StreamConnectionEvents[E]): void;
  /** Connects (and keeps reconnecting while Redis is away); never rejects. */
  connect(): Promise<void>;
  disconnect(): void;
  /** XADD with MINID trimming; the entry's id. */
  add(entry: SignedEntry, minId: string): Promise<string>;
  trim(minId: string): Promise<number>;
  /** The stream's epoch: set once by whoever comes first (`candidate`), read by everyone after. */
  epoch(candidate: string): Promise<string>;
  groups(): Promise<GroupInfo[]>;
  info(): Promise<StreamInfo | undefined>;
  /** Creates a consumer group at `$` or `0` unless it exists, with an exact `entries-read`; true when created. */
  createGroup(group: string, startAt: '$' | '0'): Promise<boolean>;
  /** XREADGROUP: `>` waits up to `blockMs` for new entries; `0` returns the group's pending entries. */
  read(group: string, cursor: '>' | '0', count: number, blockMs: number): Promise<StreamEntry[]>;
  ack(group: string, ids: readonly string[]): Promise<void>;
  /** Registry: this server's heartbeat record (JSON) under its name. */
  putServer(name: string, record: string): Promise<void>;
  /** Registry: every server's record. */
  servers(): Promise<string[]>;
  /** Registry: queues a command (JSON) for a server. */
  pushControl(name: string, command: string): Promise<void>;
  /** Registry: pops up to `max` of a server's queued commands, oldest first. */
  popControl(name: string, max: number): Promise<string[]>;
}

export class RedisStreamClient implements StreamClient {
  readonly stream: string;
  readonly #cmd: Redis;
  readonly #reader: Redis;

  constructor(opts: StreamClientOptions) {
    this.stream = opts.stream;
    const retryStrategy = (times: number) => Math.min(50 * times, 500);
    this.#cmd = new Redis(opts.url, {
      lazyConnect: true,
      protocol: 2,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: opts.commandTimeoutMs ?? 2000,
      connectTimeout: 2000,
      retryStrategy,
      connectionName: `farmgate:${opts.name}`,
    });
    // The blocking read gets no command timeout of its own: BLOCK bounds it server-side.
    this.#reader = this.#cmd.duplicate({ commandTimeout: undefined, connectionName: `farmgate:${opts.name}:reader` });
    // The reader's errors show up as failed reads (the consumer logs those); an 'error' event
    // without a listener would crash the process.
    this.#reader.on('error', () => undefined);
  }

  on<E extends keyof StreamConnectionEvents>(event: E, listener: StreamConnectionEvents[E]): void {
    this.#cmd.on(event, listener);
  }

  async connect(): Promise<void> {
    await Promise.allSettled([this.#cmd.connect(), this.#reader.connect()]);
  }

  get ready(): boolean {
    return this.#cmd.status === 'ready';
  }

  get status(): string {
    return this.#cmd.status;
  }

  disconnect(): void {
    this.#cmd.disconnect();
    this.#reader.disconnect();
  }

  #key(suffix: string): string {
    return `${this.stream}:${suffix}`;
  }

  async putServer(name: string, record: string): Promise<void> {
    await this.#cmd.call('HSET', [this.#key('servers'), name, record]);
  }

  async servers(): Promise<string[]> {
    const flat = (await this.#cmd.call('HGETALL', [this.#key('servers')])) as string[];
    return flat.filter((_, i) => i % 2 === 1);
  }

  async pushControl(name: string, command: string): Promise<void> {
    await this.#cmd.call('RPUSH', [this.#key(`control:${name}`), command]);
  }

  async popControl(name: string, max: number): Promise<string[]> {
    return ((await this.#cmd.call('LPOP', [this.#key(`control:${name}`), max])) as string[] | null) ?? [];
  }

  /** XADD with exact MINID trimming (retention by time; exact so a short retention trims small streams too). */
  async add(entry: SignedEntry, minId: string): Promise<string> {
    const id = await this.#cmd.call('XADD', [this.stream, 'MINID', minId, '*', 'v', entry.v, 'payload', entry.payload, 'sig', entry.sig]);
    return String(id);
  }

  async trim(minId: string): Promise<number> {
    return Number(await this.#cmd.call('XTRIM', [this.stream, 'MINID', minId]));
  }

  /** The stream's epoch: set once by whoever comes first, so a stream recreated after a data loss gets a new one. */
  async epoch(candidate: string): Promise<string> {
    const key = this.#key('epoch');
    await this.#cmd.call('SET', [key, candidate, 'NX']);
    return String(await this.#cmd.call('GET', [key]));
  }

  async groups(): Promise<GroupInfo[]> {
    let reply: unknown;
    try {
      reply = await this.#cmd.call('XINFO', ['GROUPS', this.stream]);
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return [];
      throw err;
    }
    return (reply as unknown[][]).map((flat) => {
      const r = fieldsToRecord(flat.map((x) => (x === null ? '' : String(x))));
      const at = (k: string) => (flat as unknown[])[(flat as unknown[]).indexOf(k) + 1];
      const lag = at('lag');
      const read = at('entries-read');
      return {
        name: r.name ?? '',
        pending: Number(r.pending ?? 0),
        lastDeliveredId: r['last-delivered-id'] ?? '0-0',
        lag: lag === null || lag === undefined ? null : Number(lag),
        lagExact: read !== null && read !== undefined && lag !== null && lag !== undefined,
      };
    });
  }

  async info(): Promise<StreamInfo | undefined> {
    let flat: unknown[];
    try {
      flat = (await this.#cmd.call('XINFO', ['STREAM', this.stream])) as unknown[];
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return undefined;
      throw err;
    }
    const at = (k: string) => flat[flat.indexOf(k) + 1];
    const first = at('first-entry') as [string, unknown] | null;
    return {
      length: Number(at('length')),
      firstId: first ? String(first[0]) : undefined,
      lastGeneratedId: String(at('last-generated-id')),
      entriesAdded: Number(at('entries-added') ?? 0),
    };
  }

  /**
   * Creates the group at `startAt` unless it exists; true when created. Done in one script so
   * the group's `entries-read` is exact from the start: a plain `XGROUP CREATE` leaves it unset,
   * and Redis then estimates the lag as if nothing had been trimmed, which would hide exactly
   * the loss we must detect.
   */
  async createGroup(group: string, startAt: '$' | '0'): Promise<boolean> {
    const created = await this.#cmd.call('EVAL', [CREATE_GROUP, 1, this.stream, group, startAt]);
    return Number(created) === 1;
  }

  /**
   * XREADGROUP on the dedicated connection. `cursor` `>` waits up to `blockMs` for new
   * entries; `0` returns this group's pending entries at once.
   */
  async read(group: string, cursor: '>' | '0', count: number, blockMs: number): Promise<StreamEntry[]> {
    const args = ['GROUP', group, group, 'COUNT', count];
    if (cursor === '>') args.push('BLOCK', blockMs);
    args.push('STREAMS', this.stream, cursor);
    const reply = (await this.#reader.call('XREADGROUP', args)) as [string, [string, string[] | null][]][] | null;
    if (!reply || reply.length === 0) return [];
    return reply[0]![1].map(([id, fields]) => ({ id, fields: fields ? fieldsToRecord(fields) : undefined }));
  }

  async ack(group: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#cmd.call('XACK', [this.stream, group, ...ids]);
  }
}

const CREATE_GROUP = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    if g[2] == ARGV[1] then return 0 end
  end
end
redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], ARGV[2], 'MKSTREAM')
if ARGV[2] == '$' then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  local h = {}
  for i = 1, #info, 2 do h[info[i]] = info[i + 1] end
  redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], h['last-generated-id'], 'ENTRIESREAD', h['entries-added'])
else
  redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], '0', 'ENTRIESREAD', 0)
end
return 1
`;

/** `${ms}-0` for a time: the smallest id at or after it. */
export function minIdFor(ms: number): string {
  return `${Math.max(0, Math.floor(ms))}-0`;
}

export function isNoGroup(err: unknown): boolean {
  return /NOGROUP/.test((err as Error)?.message ?? '');
}
