/**
 * The web farm's server registry (Kentico's web farm servers, "generated dynamically"): each
 * server writes a heartbeat record into one Redis hash under its `server.name`; anyone can list
 * them. A server not seen for 3 heartbeats is shown as not responding. Lag comes from the
 * server's consumer group (position.ts), so it is known even for a server that is down.
 *
 * Hold and release relayed for another server (`POST /admin/api/servers/{name}/hold` on any
 * server) go into that server's control list in Redis, which it pops on every heartbeat: a
 * command waits there if the server is briefly away instead of being lost like a pub/sub message.
 */
import type { StreamClient } from './stream.js';
import { lagEvents, type GroupInfo } from './position.js';

/** What a server says about itself on every heartbeat. */
export interface HeartbeatRecord {
  readonly v: 1;
  readonly name: string;
  /** Random per process: two processes under one name show up as a conflict. */
  readonly instance: string;
  readonly heartbeatAt: number;
  readonly heartbeatMs: number;
  readonly held: boolean;
  readonly coldFlushes: number;
  readonly lastColdFlush: { at: number; reason: string } | null;
  readonly failedEvents: number;
  readonly rejectedEvents: number;
  readonly outboxDepth: number;
}

export interface ServerView {
  readonly name: string;
  readonly lastHeartbeat: string | null;
  readonly responding: boolean;
  /** Events behind the stream head; null when the server has no consumer group yet. */
  readonly lag: number | null;
  readonly held: boolean;
  readonly coldFlushes: number;
  readonly lastColdFlush: { at: string; reason: string } | null;
  readonly failedEvents: number;
  readonly rejectedEvents: number;
  readonly outboxDepth: number;
  readonly self: boolean;
}

export type ControlOp = 'hold' | 'release';

/** Missed heartbeats before a server is shown as not responding. */
export const MISSED_HEARTBEATS = 3;

/** Pure: is a heartbeat at `heartbeatAt` recent enough at `now`? */
export function isResponding(heartbeatAt: number | undefined, heartbeatMs: number, now: number): boolean {
  return heartbeatAt !== undefined && now - heartbeatAt <= MISSED_HEARTBEATS * heartbeatMs;
}

/** Pure: registry records and consumer groups → the list /admin shows, sorted by name. */
export function serverViews(records: readonly HeartbeatRecord[], groups: readonly GroupInfo[], self: string, now: number): ServerView[] {
  const byName = new Map<string, { record?: HeartbeatRecord; group?: GroupInfo }>();
  for (const r of records) byName.set(r.name, { ...byName.get(r.name), record: r });
  for (const g of groups) byName.set(g.name, { ...byName.get(g.name), group: g });
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, { record, group }]) => ({
      name,
      lastHeartbeat: record ? new Date(record.heartbeatAt).toISOString() : null,
      responding: record ? isResponding(record.heartbeatAt, record.heartbeatMs, now) : false,
      lag: group ? lagEvents(group) : null,
      held: record?.held ?? false,
      coldFlushes: record?.coldFlushes ?? 0,
      lastColdFlush: record?.lastColdFlush ? { at: new Date(record.lastColdFlush.at).toISOString(), reason: record.lastColdFlush.reason } : null,
      failedEvents: record?.failedEvents ?? 0,
      rejectedEvents: record?.rejectedEvents ?? 0,
      outboxDepth: record?.outboxDepth ?? 0,
      self: name === self,
    }));
}

export class Registry {
  readonly #client: StreamClient;

  constructor(client: StreamClient) {
    this.#client = client;
  }

  async beat(record: HeartbeatRecord): Promise<void> {
    await this.#client.putServer(record.name, JSON.stringify(record));
  }

  async records(): Promise<HeartbeatRecord[]> {
    const out: HeartbeatRecord[] = [];
    for (const raw of await this.#client.servers()) {
      try {
        const r = JSON.parse(raw) as HeartbeatRecord;
        if (r && r.v === 1 && typeof r.name === 'string') out.push(r);
      } catch {
        // a record we cannot read is not shown
      }
    }
    return out;
  }

  /** Queues a hold/release for a server; it applies it on its next heartbeat. */
  async send(name: string, op: ControlOp, at: number): Promise<void> {
    await this.#client.pushControl(name, JSON.stringify({ op, at }));
  }

  /** Pops this server's queued commands, oldest first. */
  async take(name: string): Promise<ControlOp[]> {
    const ops: ControlOp[] = [];
    for (const raw of await this.#client.popControl(name, 100)) {
      try {
        const { op } = JSON.parse(raw) as { op: unknown };
        if (op === 'hold' || op === 'release') ops.push(op);
      } catch {
        // a command we cannot read is dropped
      }
    }
    return ops;
  }
}
