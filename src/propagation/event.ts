/**
 * The wire format of one web-farm event (contract section 5): a Redis stream entry with the
 * fields `v` (`1`), `payload` (JSON) and `sig` (hex HMAC-SHA256 of `payload` with
 * `propagation.secret`). Pure: encode, sign, decode, verify.
 *
 * The signature covers the payload string exactly as sent, never a re-serialisation, so a
 * receiver verifies the bytes it got. `v` is outside the payload so a later format can be
 * refused before its payload is parsed (http-cache-semantics `toObject()` → `{ v: 1, … }`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseHandle } from '../flush/parse.js';
import { tagProblem } from '../tags/parse.js';
import type { FlushAction, FlushRequest, FlushScope } from '../flush/types.js';

export const EVENT_VERSION = '1';

/** The payload: what a receiver needs to apply the flush exactly as the origin did. */
export interface FlushEvent {
  /** Unique per accepted flush (UUID); receivers skip an id they already applied. */
  readonly id: string;
  /** `server.name` of the server that received the flush from the CMS. */
  readonly origin: string;
  /** The origin's flush time, ms since the epoch (informational: receivers touch at their own now). */
  readonly ts: number;
  readonly action: Exclude<FlushAction, 'Test'>;
  readonly scope: FlushScope | null;
  readonly handle: string;
  /** The routing key (`CQ-Path`); each receiver routes it by its own `flushRoutes`. */
  readonly path: string;
  readonly refetch: readonly string[];
  /** The farms an invalidation was restricted to (by name); absent = every farm the path routes to. */
  readonly farms?: readonly string[];
}

/**
 * A tag invalidation (contract section 4a: "event `payload` gains `tags`"): `handle` and `path`
 * are null, so a server that does not know tags refuses the event as malformed instead of
 * reading it as a flush of `/`.
 */
export interface TagEvent {
  readonly id: string;
  readonly origin: string;
  readonly ts: number;
  readonly action: 'Activate' | 'Delete';
  readonly tags: readonly string[];
  /** Only these farms (by name); absent = every farm. */
  readonly farms?: readonly string[];
}

/** What travels on the stream. */
export type PropagatedEvent = FlushEvent | TagEvent;

export function isTagEvent(e: PropagatedEvent): e is TagEvent {
  return 'tags' in e;
}

/** The stream entry as stored: field → value. */
export interface SignedEntry {
  readonly v: string;
  readonly payload: string;
  readonly sig: string;
}

export type DecodeResult =
  | { ok: true; event: PropagatedEvent; entry: SignedEntry }
  | { ok: false; reason: 'version' | 'signature' | 'malformed'; detail: string };

/** Hex HMAC-SHA256 of the payload string. */
export function sign(payload: string, secret: string): string {
  return createHmac('sha256', secret).update(payload, 'utf8').digest('hex');
}

/**
 * Constant-time check of a hex signature (crypto.timingSafeEqual), so a forger learns nothing
 * from how long a rejection takes (peers §3.8: projects retrofitting constant-time compares).
 */
export function verifySignature(payload: string, sig: string, secret: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(sig)) return false;
  const expected = Buffer.from(sign(payload, secret), 'hex');
  const given = Buffer.from(sig, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A flush applied here → the event to send. Key order is fixed so payloads read the same
 * everywhere.
 *
 * @example toEvent(flush, { id: 'e1', origin: 'web1', ts: 1700000000000 })
 */
export function toEvent(flush: FlushRequest, meta: { id: string; origin: string; ts: number; only?: readonly string[] | undefined }): FlushEvent {
  if (flush.action === 'Test') throw new Error('Test flushes are never propagated');
  return {
    id: meta.id,
    origin: meta.origin,
    ts: meta.ts,
    action: flush.action,
    scope: flush.scope ?? null,
    handle: flush.handle,
    path: flush.routingKey,
    refetch: [...flush.refetch],
    ...(meta.only ? { farms: [...meta.only] } : {}),
  };
}

/** A tag invalidation applied here → the event to send. */
export function toTagEvent(req: { tags: readonly string[]; action: 'Activate' | 'Delete'; farms: readonly string[] | undefined }, meta: { id: string; origin: string; ts: number }): TagEvent {
  return { id: meta.id, origin: meta.origin, ts: meta.ts, action: req.action, tags: [...req.tags], ...(req.farms ? { farms: [...req.farms] } : {}) };
}

/**
 * A flush event's payload is exactly what it was before tags existed (`farms` only when an
 * invalidation named farms), so servers that do not know tags keep reading flushes.
 */
export function encodeEvent(event: PropagatedEvent, secret: string): SignedEntry {
  const body: Record<string, unknown> = isTagEvent(event)
    ? { id: event.id, origin: event.origin, ts: event.ts, action: event.action, scope: null, handle: null, path: null, refetch: [], tags: event.tags }
    : { id: event.id, origin: event.origin, ts: event.ts, action: event.action, scope: event.scope, handle: event.handle, path: event.path, refetch: event.refetch };
  if (event.farms) body.farms = event.farms;
  const payload = JSON.stringify(body);
  return { v: EVENT_VERSION, payload, sig: sign(payload, secret) };
}

/** The event → the FlushRequest the local planner takes. */
export function toFlushRequest(event: FlushEvent): FlushRequest {
  return { action: event.action, scope: event.scope ?? undefined, handle: event.handle, routingKey: event.path, refetch: event.refetch };
}

/** Redis reply `[field, value, field, value, …]` → an object (last value wins, like HGETALL). */
export function fieldsToRecord(fields: readonly string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fields) return out;
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
  return out;
}

const ACTIONS = new Set(['Activate', 'Deactivate', 'Delete']);

/**
 * A received entry → a verified event, or why it is refused. Order: version (a newer format is
 * not ours to read), signature (before parsing anything an attacker wrote), then shape. The
 * handle and routing key are validated again like a flush header: a signed event still never
 * reaches outside a docroot.
 */
export function decodeEntry(fields: Record<string, string>, secret: string): DecodeResult {
  const { v, payload, sig } = fields;
  if (v !== EVENT_VERSION) return { ok: false, reason: 'version', detail: `unsupported event version ${JSON.stringify(v ?? null)} (expected ${EVENT_VERSION})` };
  if (typeof payload !== 'string' || typeof sig !== 'string') return { ok: false, reason: 'malformed', detail: 'missing payload or sig' };
  if (!verifySignature(payload, sig, secret)) return { ok: false, reason: 'signature', detail: 'signature does not match the payload' };
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return { ok: false, reason: 'malformed', detail: 'payload is not JSON' };
  }
  const problem = shapeProblem(raw);
  if (problem) return { ok: false, reason: 'malformed', detail: problem };
  const p = raw as Record<string, unknown> & FlushEvent;
  const farms = p.farms === undefined ? {} : { farms: p.farms as readonly string[] };
  if (Array.isArray(p.tags)) {
    if (p.action !== 'Activate' && p.action !== 'Delete') return { ok: false, reason: 'malformed', detail: 'a tag event acts with Activate or Delete' };
    const event: TagEvent = { id: p.id, origin: p.origin, ts: p.ts, action: p.action, tags: p.tags as string[], ...farms };
    return { ok: true, event, entry: { v, payload, sig } };
  }
  const handle = parseHandle(p.handle);
  const key = parseHandle(p.path);
  if (!handle.ok || handle.handle !== p.handle) return { ok: false, reason: 'malformed', detail: `invalid handle ${JSON.stringify(p.handle)}` };
  if (!key.ok || key.handle !== p.path) return { ok: false, reason: 'malformed', detail: `invalid path ${JSON.stringify(p.path)}` };
  const event: FlushEvent = {
    id: p.id,
    origin: p.origin,
    ts: p.ts,
    action: p.action,
    scope: p.scope === 'ResourceOnly' ? 'ResourceOnly' : null,
    handle: p.handle,
    path: p.path,
    refetch: p.refetch,
    ...farms,
  };
  return { ok: true, event, entry: { v, payload, sig } };
}

function shapeProblem(raw: unknown): string | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'payload is not an object';
  const p = raw as Record<string, unknown>;
  if (typeof p.id !== 'string' || p.id.length === 0 || p.id.length > 200) return 'payload.id: expected a non-empty string';
  if (typeof p.origin !== 'string' || p.origin.length === 0) return 'payload.origin: expected a non-empty string';
  if (typeof p.ts !== 'number' || !Number.isFinite(p.ts)) return 'payload.ts: expected a number';
  if (typeof p.action !== 'string' || !ACTIONS.has(p.action)) return `payload.action: expected Activate, Deactivate or Delete, got ${JSON.stringify(p.action)}`;
  if (p.scope !== null && p.scope !== undefined && p.scope !== 'ResourceOnly') return 'payload.scope: expected null or "ResourceOnly"';
  if (p.farms !== undefined && (!Array.isArray(p.farms) || p.farms.length === 0 || !p.farms.every((f) => typeof f === 'string' && /^[a-z0-9-]+$/.test(f)))) return 'payload.farms: expected a list of farm names';
  if (p.tags !== undefined) {
    // A tag event: no handle, no path (a server without tags refuses it), every tag valid.
    if (p.handle !== null || p.path !== null) return 'payload: a tag event has null handle and path';
    if (!Array.isArray(p.tags) || p.tags.length === 0) return 'payload.tags: expected a non-empty list';
    for (const t of p.tags) {
      if (typeof t !== 'string' || tagProblem(t) !== undefined) return `payload.tags: invalid tag ${JSON.stringify(t)}`;
    }
    return undefined;
  }
  if (typeof p.handle !== 'string') return 'payload.handle: expected a string';
  if (typeof p.path !== 'string') return 'payload.path: expected a string';
  if (!Array.isArray(p.refetch) || !p.refetch.every((u) => typeof u === 'string' && u.startsWith('/'))) return 'payload.refetch: expected a list of absolute URIs';
  return undefined;
}
