/**
 * An in-memory StreamClient: one stream with ids `ms-seq`, consumer groups with a position,
 * pending entries and an exact `entries-read`, MINID trimming, the registry hash and control lists.
 * A blocking read waits for the next add (or a disconnect), never for a timer, so publisher and
 * consumer tests run without Redis and without sleeps. `down()` / `up()` play a lost and
 * returning connection.
 */
import type { SignedEntry } from '../../src/propagation/event.js';
import { compareIds, type GroupInfo } from '../../src/propagation/position.js';
import type { StreamClient, StreamConnectionEvents, StreamEntry, StreamInfo } from '../../src/propagation/stream.js';

interface Group {
  lastDelivered: string;
  entriesRead: number;
  pending: Map<string, true>;
}

export class FakeStreamClient implements StreamClient {
  readonly stream = 'test:flushes';
  entries: { id: string; fields: Record<string, string> }[] = [];
  readonly groupsByName = new Map<string, Group>();
  readonly registry = new Map<string, string>();
  readonly control = new Map<string, string[]>();
  entriesAdded = 0;
  epochValue: string | undefined;
  /** Make every command fail (as with Redis away) without a connection event. */
  failing: Error | undefined;
  #connected = false;
  #lastId = '0-0';
  #listeners: { [E in keyof StreamConnectionEvents]: StreamConnectionEvents[E][] } = { ready: [], close: [], error: [] };
  #blocked: (() => void)[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  get ready(): boolean {
    return this.#connected;
  }

  get status(): string {
    return this.#connected ? 'ready' : 'reconnecting';
  }

  on<E extends keyof StreamConnectionEvents>(event: E, listener: StreamConnectionEvents[E]): void {
    this.#listeners[event].push(listener);
  }

  async connect(): Promise<void> {
    this.up();
  }

  disconnect(): void {
    this.down();
  }

  /** The connection returns (a `ready` event). */
  up(): void {
    if (this.#connected) return;
    this.#connected = true;
    for (const l of this.#listeners.ready) l();
  }

  /** The connection is lost (a `close` event); blocked reads fail. */
  down(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#wake();
    for (const l of this.#listeners.close) l();
  }

  #check(): void {
    if (!this.#connected) throw new Error('Connection is closed.');
    if (this.failing) throw this.failing;
  }

  #wake(): void {
    this.#blocked.splice(0).forEach((w) => w());
  }

  async add(entry: SignedEntry, minId: string): Promise<string> {
    this.#check();
    const ms = this.now();
    const [lastMs, lastSeq] = this.#lastId.split('-').map(Number) as [number, number];
    const id = ms > lastMs ? `${ms}-0` : `${lastMs}-${lastSeq + 1}`;
    this.#lastId = id;
    this.entries.push({ id, fields: { v: entry.v, payload: entry.payload, sig: entry.sig } });
    this.entriesAdded++;
    this.#trimTo(minId);
    this.#wake();
    return id;
  }

  /** Adds raw fields (a forged or foreign event). */
  async addRaw(fields: Record<string, string>): Promise<string> {
    return this.add(fields as unknown as SignedEntry, '0-0');
  }

  async trim(minId: string): Promise<number> {
    this.#check();
    return this.#trimTo(minId);
  }

  #trimTo(minId: string): number {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => compareIds(e.id, minId) >= 0);
    return before - this.entries.length;
  }

  async epoch(candidate: string): Promise<string> {
    this.#check();
    this.epochValue ??= candidate;
    return this.epochValue;
  }

  async groups(): Promise<GroupInfo[]> {
    this.#check();
    return [...this.groupsByName].map(([name, g]) => ({
      name,
      pending: g.pending.size,
      lastDeliveredId: g.lastDelivered,
      lag: this.entriesAdded - g.entriesRead,
      lagExact: true,
    }));
  }

  async info(): Promise<StreamInfo | undefined> {
    this.#check();
    if (this.entriesAdded === 0 && this.groupsByName.size === 0) return undefined;
    return { length: this.entries.length, firstId: this.entries[0]?.id, lastGeneratedId: this.#lastId, entriesAdded: this.entriesAdded };
  }

  async createGroup(group: string, startAt: '$' | '0'): Promise<boolean> {
    this.#check();
    if (this.groupsByName.has(group)) return false;
    this.groupsByName.set(group, startAt === '$' ? { lastDelivered: this.#lastId, entriesRead: this.entriesAdded, pending: new Map() } : { lastDelivered: '0-0', entriesRead: 0, pending: new Map() });
    return true;
  }

  async read(group: string, cursor: '>' | '0', count: number, _blockMs?: number): Promise<StreamEntry[]> {
    this.#check();
    let g = this.#group(group);
    if (cursor === '0') {
      return [...g.pending.keys()].slice(0, count).map((id) => ({ id, fields: this.entries.find((e) => e.id === id)?.fields }));
    }
    let fresh = this.entries.filter((e) => compareIds(e.id, g.lastDelivered) > 0).slice(0, count);
    if (fresh.length === 0) {
      await new Promise<void>((resolve) => this.#blocked.push(resolve));
      this.#check();
      g = this.#group(group);
      fresh = this.entries.filter((e) => compareIds(e.id, g.lastDelivered) > 0).slice(0, count);
    }
    for (const e of fresh) {
      g.pending.set(e.id, true);
      g.lastDelivered = e.id;
      g.entriesRead++;
    }
    return fresh.map((e) => ({ id: e.id, fields: e.fields }));
  }

  #group(name: string): Group {
    const g = this.groupsByName.get(name);
    if (!g) throw new Error(`NOGROUP No such key '${this.stream}' or consumer group '${name}'`);
    return g;
  }

  async ack(group: string, ids: readonly string[]): Promise<void> {
    this.#check();
    for (const id of ids) this.groupsByName.get(group)?.pending.delete(id);
  }

  async putServer(name: string, record: string): Promise<void> {
    this.#check();
    this.registry.set(name, record);
  }

  async servers(): Promise<string[]> {
    this.#check();
    return [...this.registry.values()];
  }

  async pushControl(name: string, command: string): Promise<void> {
    this.#check();
    this.control.set(name, [...(this.control.get(name) ?? []), command]);
  }

  async popControl(name: string, max: number): Promise<string[]> {
    this.#check();
    const list = this.control.get(name) ?? [];
    this.control.set(name, list.slice(max));
    return list.slice(0, max);
  }
}
