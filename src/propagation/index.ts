/**
 * Web farm propagation over Redis Streams (contract section 5): the composition of the
 * publisher (our flushes → stream or outbox), the consumer (stream → flushes applied here),
 * the registry (heartbeats, lag, relayed hold/release) and the join logic (epochs, cold
 * flushes). `createPropagation(deps)` builds it; `start()` opens the outbox and connects
 * (waiting briefly for the first join, never failing because Redis is away); `onApplied` is the
 * flush handler's hook.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { RunFlush } from '../flush/run-flush.js';
import { COLD_FLUSH } from '../flush/run-flush.js';
import type { FlushAppliedEvent } from '../flush/types.js';
import type { RunTags, TagsAppliedEvent } from '../invalidation/run-tags.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Runtime } from '../runtime.js';
import { DEFAULT_RETRY_DELAYS_MS, eventApplier } from './apply-remote.js';
import { Consumer, type HistoryRecord } from './consumer.js';
import { encodeEvent, toEvent, toTagEvent } from './event.js';
import { Outbox } from './outbox.js';
import { joinDecision, LocalStateFile, lagEvents, trimmedUnread } from './position.js';
import { Publisher } from './publisher.js';
import { Registry, serverViews, type ControlOp, type HeartbeatRecord, type ServerView } from './registry.js';
import { Session } from './session.js';
import { minIdFor, RedisStreamClient, type StreamClient } from './stream.js';

export type { ServerView } from './registry.js';
export type { HistoryRecord } from './consumer.js';

/** Timings; the defaults suit production, tests shorten them. */
export interface PropagationTuning {
  /** Heartbeat period; a server is not responding after 3 missed (default 1000). */
  readonly heartbeatMs?: number;
  /** XREADGROUP BLOCK (default 1000). */
  readonly blockMs?: number;
  /** Waits between attempts of a failing event (default 100, 400, 1500). */
  readonly retryDelaysMs?: readonly number[];
  /** How far back our own events are re-sent when Redis lost its data (default 60000). */
  readonly replayWindowMs?: number;
  /** How long start() waits for the first join (default 3000). */
  readonly joinTimeoutMs?: number;
}

export interface PropagationDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly getRuntime: () => Runtime;
  /** The flush operation: received events and cold flushes go through it. */
  readonly runFlush: RunFlush;
  /** The tag operation (invalidation/run-tags.ts), for tag events. */
  readonly runTags: RunTags;
  readonly now?: () => number;
  readonly tuning?: PropagationTuning;
  /** The stream client (default: ioredis on `propagation.redis.url`); unit tests pass a fake. */
  readonly client?: StreamClient;
}

export interface ColdFlushRecord {
  readonly at: string;
  readonly reason: string;
  readonly farms: string[];
}

export interface PropagationStatus {
  readonly server: string;
  readonly stream: string;
  readonly redis: string;
  readonly ready: boolean;
  readonly held: boolean;
  readonly outboxDepth: number;
  readonly lag: number | null;
  readonly published: number;
  readonly applied: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly failed: number;
  readonly failedEvents: HistoryRecord[];
  readonly coldFlushes: ColdFlushRecord[];
  readonly recent: HistoryRecord[];
}

export interface Propagation {
  /** The flush handler's hook: resolves once the flush is in Redis or fsync'd in the outbox. */
  onApplied(event: FlushAppliedEvent): Promise<void>;
  /** The same for a tag invalidation (the API, a webhook). */
  onTagsApplied(event: TagsAppliedEvent): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): PropagationStatus;
  /** Every server in the registry, with lag (JSON for GET /admin/api/servers). */
  servers(): Promise<ServerView[]>;
  hold(): Promise<void>;
  release(): Promise<void>;
  /** Hold or release a server by name: this one directly, another through Redis. */
  control(name: string, op: ControlOp): Promise<'done' | 'relayed'>;
  /** Redis reachable and this server joined to the stream. */
  ready(): boolean;
  /** Events handled here, oldest first (applied, failed, duplicates, rejected). */
  history(): readonly HistoryRecord[];
}

export function createPropagation(deps: PropagationDeps): Propagation {
  const { config, metrics } = deps;
  const name = config.server.name;
  const log = deps.log.child({ component: 'propagation', server: name });
  const now = deps.now ?? Date.now;
  const tuning = deps.tuning ?? {};
  const heartbeatMs = tuning.heartbeatMs ?? 1000;
  const replayWindowMs = tuning.replayWindowMs ?? 60_000;
  const { url, stream, retentionMs } = config.propagation.redis;
  const secret = config.propagation.secret ?? '';
  const instance = randomUUID();

  const client = deps.client ?? new RedisStreamClient({ url, stream, name });
  const registry = new Registry(client);
  const local = new LocalStateFile(config.server.stateDir);
  const session = new Session();
  let outbox: Outbox | undefined;
  let publisher: Publisher | undefined;
  let consumer: Consumer | undefined;

  // What this server has seen, for status() and the heartbeat record.
  const seen = { published: 0, lastReadAt: undefined as number | undefined, selfLag: null as number | null, coldFlushCount: 0 };
  const coldFlushes: ColdFlushRecord[] = [];
  let joining: Promise<void> | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let lastRedisError = '';

  client.on('error', (err: Error) => {
    if (err.message !== lastRedisError) log.warn({ err: err.message }, 'redis connection error');
    lastRedisError = err.message;
  });
  client.on('close', () => {
    if (session.joined) log.warn('redis connection lost: flushes go to the local outbox until it returns');
    session.lose();
  });
  client.on('ready', () => {
    lastRedisError = '';
    void join();
  });

  async function doColdFlush(reason: string): Promise<void> {
    const at = now();
    const run = await deps.runFlush(deps.getRuntime(), COLD_FLUSH, { door: 'cold', client: name, reason });
    seen.coldFlushCount++;
    metrics.propagationColdFlushes.inc();
    coldFlushes.push({ at: new Date(at).toISOString(), reason, farms: run.json.farms.filter((f) => !f.error).map((f) => f.farm) });
    if (coldFlushes.length > 20) coldFlushes.shift();
  }

  /** After a (re)connect: epoch, group, replay, retention check; then publish and read. */
  function join(): Promise<void> {
    if (session.stopping || !outbox) return Promise.resolve();
    joining ??= (async () => {
      try {
        const epoch = await client.epoch(randomUUID());
        const known = session.epoch;
        const groups = await client.groups();
        const mine = groups.find((g) => g.name === name);
        const decision = joinDecision({ knownEpoch: known, epoch, groupExists: mine !== undefined, lastReadAt: seen.lastReadAt, now: now(), replayWindowMs });
        if (known !== undefined && known !== epoch) {
          log.warn({ was: known, now: epoch }, 'the flush stream was recreated (Redis lost its data): reading the new one from its start');
          await publisher!.replay();
        }
        if (!mine) await client.createGroup(name, decision.startAt);
        if (known !== epoch) await local.update({ epoch });
        if (decision.coldFlush) await doColdFlush(decision.coldFlush);
        else if (mine) await checkRetention();
        consumer?.rewind();
        session.join(epoch);
        publisher!.kick();
        void heartbeat();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'joining the flush stream failed; retrying on the next heartbeat');
      } finally {
        joining = undefined;
      }
    })();
    return joining;
  }

  /** Did retention trim events after our position before we read them? Then cold flush. */
  async function checkRetention(): Promise<void> {
    const mine = (await client.groups()).find((g) => g.name === name);
    if (!mine || mine.lag === 0) return;
    const info = await client.info();
    const trimmed = trimmedUnread({
      lag: mine.lagExact ? mine.lag : null,
      position: mine.lastDeliveredId,
      firstId: info?.firstId,
      length: info?.length ?? 0,
    });
    if (trimmed > 0) await doColdFlush(`${trimmed} event(s) after this server's position (${mine.lastDeliveredId}) were trimmed by retention before it read them`);
  }

  async function heartbeat(): Promise<void> {
    if (session.stopping || !client.ready) return;
    if (!session.joined) {
      await join();
      return;
    }
    try {
      for (const op of await registry.take(name)) {
        log.info({ op }, 'relayed command');
        if (op === 'hold') await hold();
        else await release();
      }
      const record: HeartbeatRecord = {
        v: 1,
        name,
        instance,
        heartbeatAt: now(),
        heartbeatMs,
        held: session.held,
        coldFlushes: seen.coldFlushCount,
        lastColdFlush: coldFlushes.length > 0 ? { at: Date.parse(coldFlushes.at(-1)!.at), reason: coldFlushes.at(-1)!.reason } : null,
        failedEvents: consumer?.counts.failed ?? 0,
        rejectedEvents: consumer?.counts.rejected ?? 0,
        outboxDepth: outbox?.depth ?? 0,
      };
      await registry.beat(record);
      const groups = await client.groups();
      for (const g of groups) metrics.propagationLag.set({ server: g.name }, lagEvents(g));
      const mine = groups.find((g) => g.name === name);
      seen.selfLag = mine ? lagEvents(mine) : null;
      await client.trim(minIdFor(now() - retentionMs));
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  async function setHeld(value: boolean): Promise<void> {
    if (session.held === value) return;
    if (!value) {
      // Pending entries first, and a retention check, before the consumer wakes up.
      consumer?.rewind();
      if (session.joined) await checkRetention().catch(() => undefined);
    }
    session.setHeld(value);
    await local.update({ held: value });
    log.info({ held: value }, value ? 'held: events are recorded, not applied' : 'released: applying held events in order');
    void heartbeat();
  }

  async function hold(): Promise<void> {
    await setHeld(true);
  }
  async function release(): Promise<void> {
    await setHeld(false);
  }

  return {
    async onApplied(event) {
      if (event.flush.action === 'Test') return;
      if (!publisher) throw new Error('propagation not started');
      const entry = encodeEvent(toEvent(event.flush, { id: randomUUID(), origin: name, ts: event.at, only: event.only }), secret);
      await publisher.publish(entry);
    },

    async onTagsApplied(event) {
      if (!publisher) throw new Error('propagation not started');
      await publisher.publish(encodeEvent(toTagEvent(event, { id: randomUUID(), origin: name, ts: event.at }), secret));
    },

    async start() {
      session.restore(await local.load());
      outbox = await Outbox.open(config.server.stateDir);
      if (outbox.depth > 0) log.warn({ events: outbox.depth }, 'outbox holds flushes not yet sent; they go first');
      publisher = new Publisher({
        client,
        outbox,
        log,
        retentionMs,
        replayWindowMs,
        now,
        canSend: () => session.joined,
        onPublished: () => {
          seen.published++;
          metrics.propagationPublished.inc();
        },
        onOutboxDepth: (depth) => metrics.propagationOutboxDepth.set(depth),
      });
      consumer = new Consumer({
        client,
        group: name,
        secret,
        log,
        metrics,
        apply: eventApplier(deps.runFlush, deps.runTags, deps.getRuntime),
        retryDelaysMs: tuning.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
        blockMs: tuning.blockMs ?? 1000,
        batch: 100,
        now,
        session,
        onLostGroup: () => {
          session.lose();
          void join();
        },
        coldFlush: doColdFlush,
        onRead: () => {
          seen.lastReadAt = now();
        },
      });
      consumer.start();
      heartbeatTimer = setInterval(() => void heartbeat(), heartbeatMs);
      heartbeatTimer.unref();
      void client.connect();
      // Wait briefly for the first join, so a flush right after start reaches a group that
      // exists; Redis being away is not an error (the outbox takes the flushes).
      await session.firstJoin(tuning.joinTimeoutMs ?? 3000);
    },

    async stop() {
      if (session.stopping) return;
      clearInterval(heartbeatTimer);
      await publisher?.settle();
      session.stop();
      const consumerStopped = consumer?.stop();
      client.disconnect();
      await consumerStopped;
      await joining;
      await outbox?.close();
    },

    status() {
      const c = consumer?.counts ?? { applied: 0, failed: 0, rejected: 0, duplicate: 0, own: 0 };
      return {
        server: name,
        stream,
        redis: client.status,
        ready: client.ready && session.joined,
        held: session.held,
        outboxDepth: outbox?.depth ?? 0,
        lag: seen.selfLag,
        published: seen.published,
        applied: c.applied,
        rejected: c.rejected,
        duplicates: c.duplicate,
        failed: c.failed,
        failedEvents: [...(consumer?.failed ?? [])],
        coldFlushes: [...coldFlushes],
        recent: (consumer?.history ?? []).slice(-50),
      };
    },

    async servers() {
      const [records, groups] = await Promise.all([registry.records(), client.groups()]);
      return serverViews(records, groups, name, now());
    },

    hold,
    release,

    async control(target, op) {
      if (target === name) {
        await setHeld(op === 'hold');
        return 'done';
      }
      await registry.send(target, op, now());
      return 'relayed';
    },

    ready: () => client.ready && session.joined,
    history: () => consumer?.history ?? [],
  };
}
