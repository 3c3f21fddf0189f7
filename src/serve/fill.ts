/**
 * Cache fills: one render request per cached file at a time, its body streamed to the client
 * and to a temporary file at once, then renamed into place.
 *
 * "Concurrent misses for one file make one render request; the others wait for it. While a
 * stale file is being re-fetched, concurrent requests get the stale copy." (contract section 3)
 * The in-flight entry is removed in a `finally`, whatever happens (undici deduplicate.js).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import type { Farm } from '../farms/farm.js';
import type { CachedFile, CacheStore } from '../cache/store.js';
import { isStorable, ttlExpiry } from '../cache/policy.js';
import type { Runtime } from '../runtime.js';
import { storedHeaderNames, tagHeaderPolicy } from '../tags/headers.js';
import { MAX_TAG_BYTES, MAX_TAGS_PER_FILE, responseTags } from '../tags/parse.js';
import { clientResponseHeaders, headersToStore } from './headers.js';
import { isTimeoutError } from '../render/render-client.js';
import { sendCached, sendError, toAppError, writeChunk, X_CACHE, type CacheStatus } from './send.js';

/** What a fill left for the requests that waited on it. */
export type FillOutcome =
  | { kind: 'stored' }
  /** A response not stored but safe to share; `headers` are already the client's. */
  | { kind: 'response'; status: number; headers: OutgoingHttpHeaders; body: Buffer }
  | { kind: 'error'; error: AppError }
  | { kind: 'none' };

const STALE_ON_STATUS = new Set([502, 503, 504, 429]);
/** Non-storable answers up to this size are handed to waiting requests instead of re-fetched. */
const SHARE_LIMIT = 256 * 1024;

export interface FillRequest {
  readonly rt: Runtime;
  readonly farm: Farm;
  readonly docPath: string;
  /** Path and query as sent to the render. */
  readonly renderPath: string;
  readonly headers: Record<string, string | string[]>;
  /** The stale copy, when this fill refreshes one. */
  readonly stale: CachedFile | undefined;
  /** The client to answer, or undefined for a background fill (refetch, warming). */
  readonly res: ServerResponse | undefined;
  readonly headOnly: boolean;
  readonly now: () => number;
  /** When the render request starts (the file's mtime); defaults to now(). */
  readonly startedAt?: number;
}

export interface FillResult {
  readonly outcome: FillOutcome;
  readonly cache: CacheStatus;
  readonly status: number;
  readonly renderMs: number | undefined;
}

export interface PendingFill {
  readonly outcome: Promise<FillOutcome>;
  /** When its render request started: a request may only join a fill newer than any flush. */
  readonly startedAt: number;
}

/** Fills in flight, per store and document path (farms sharing a docroot share a store). */
export class InFlight {
  readonly #fills = new WeakMap<CacheStore, Map<string, PendingFill>>();

  get(store: CacheStore, docPath: string): PendingFill | undefined {
    return this.#fills.get(store)?.get(docPath);
  }

  /** Runs a fill as the one in flight for this file; its entry is always cleared. */
  run(store: CacheStore, docPath: string, startedAt: number, fill: () => Promise<FillResult>): Promise<FillResult> {
    let resolve!: (o: FillOutcome) => void;
    const entry: PendingFill = { outcome: new Promise<FillOutcome>((r) => (resolve = r)), startedAt };
    let fills = this.#fills.get(store);
    if (!fills) this.#fills.set(store, (fills = new Map()));
    fills.set(docPath, entry);
    let outcome: FillOutcome = { kind: 'none' };
    return fill()
      .then((result) => {
        outcome = result.outcome;
        return result;
      })
      .finally(() => {
        // A newer fill may have taken the slot (after a flush); leave that one alone.
        if (fills.get(docPath) === entry) fills.delete(docPath);
        resolve(outcome);
      });
  }
}

/**
 * Fetches a cacheable document from the farm's render and stores it when the response is
 * storable, answering `res` (if any) as the bytes arrive.
 */
export async function fill(f: FillRequest): Promise<FillResult> {
  const { rt, farm, res } = f;
  const cacheCfg = farm.config.cache;
  const startedAt = f.startedAt ?? f.now();
  let renderMs: number | undefined;
  let response;
  try {
    response = await rt.renderClientFor(farm).request({ method: 'GET', path: f.renderPath, headers: f.headers });
    renderMs = f.now() - startedAt;
  } catch (err) {
    const error = toAppError(err);
    rt.metrics.renderRequests.inc({
      farm: farm.name,
      outcome: error.code === 'FG_RENDER_TIMEOUT' ? 'timeout' : error.code === 'FG_RENDER_UNREACHABLE' ? 'unreachable' : 'error',
    });
    if (f.stale && cacheCfg.serveStaleOnError) {
      if (res) await sendCached(res, f.stale, 'STALE');
      return { outcome: { kind: 'none' }, cache: 'STALE', status: 200, renderMs };
    }
    if (res) sendError(res, error, 'MISS');
    return { outcome: { kind: 'error', error }, cache: 'MISS', status: error.status, renderMs };
  }
  rt.metrics.renderRequests.inc({ farm: farm.name, outcome: response.statusCode < 500 ? 'ok' : 'error' });
  rt.metrics.renderDuration.observe({ farm: farm.name }, (renderMs ?? 0) / 1000);

  const { statusCode, headers, body } = response;
  if (f.stale && cacheCfg.serveStaleOnError && STALE_ON_STATUS.has(statusCode)) {
    body.resume();
    if (res) await sendCached(res, f.stale, 'STALE');
    return { outcome: { kind: 'none' }, cache: 'STALE', status: 200, renderMs };
  }

  const cl = headers['content-length'];
  const storable = isStorable({ status: statusCode, headers, bodyLength: cl === undefined ? undefined : Number(cl) });
  const tagPolicy = tagHeaderPolicy(cacheCfg);
  const outHeaders = clientResponseHeaders(headers, { stripAccel: rt.config.server.accelRedirect !== undefined, hide: tagPolicy.hidden });
  outHeaders[X_CACHE] = 'MISS';
  const cache = rt.cacheFor(farm);
  const writer = storable.ok ? cache.beginWrite(f.docPath, startedAt) : undefined;
  const shareable = !storable.ok && headers['set-cookie'] === undefined && !/private|no-store/i.test(String(headers['cache-control'] ?? ''));
  let shared: Buffer[] | undefined = shareable ? [] : undefined;
  let sharedBytes = 0;

  if (res && !res.headersSent) res.writeHead(statusCode, outHeaders);
  const toClient = res !== undefined && !f.headOnly;
  // The last chunk is held back until the file is committed (see below).
  let held: Buffer | undefined;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      writer?.write(chunk);
      if (shared) {
        sharedBytes += chunk.length;
        if (sharedBytes <= SHARE_LIMIT) shared.push(chunk);
        else shared = undefined;
      }
      if (toClient && held) {
        const w = writeChunk(res, held);
        if (w !== true) await w;
      }
      held = chunk;
    }
  } catch (err) {
    // The render failed mid-body (reset, timeout between bytes): nothing of it is kept, and the
    // client sees a cut connection rather than a short page that looks complete.
    await writer?.abort();
    rt.metrics.renderRequests.inc({ farm: farm.name, outcome: isTimeoutError(err) ? 'timeout' : 'error' });
    rt.log.warn({ farm: farm.name, path: f.docPath, err: (err as Error).message }, 'render failed mid-body');
    res?.destroy();
    const error = new AppError('FG_RENDER_BAD_RESPONSE', `render failed mid-body: ${(err as Error).message}`, { cause: err });
    return { outcome: { kind: 'error', error }, cache: 'MISS', status: statusCode, renderMs };
  }
  // Commit before the client's last byte: once a client has the whole page, the next request
  // for it is a HIT (a newcomer's curl-twice works as expected). Committing costs a rename.
  let outcome: FillOutcome = { kind: 'none' };
  if (writer) {
    if (writer.size === 0) await writer.abort(); // "no zero-length files"
    else if (cache.lastDeleted(f.docPath) >= startedAt) {
      // A flush deleted this file after the render request started: the body predates the
      // flush and must not bring the page back. This client still gets it (it asked first).
      await writer.abort();
    } else {
      const ttl = cacheCfg.enableTTL ? ttlExpiry(headers, startedAt) : undefined;
      // commit() checks again around the rename: a flush may land while the file is written.
      const tags = storedTags(rt, farm, f.docPath, headers, cacheCfg.tagHeaders);
      const stored = headersToStore(headers, storedHeaderNames(farm.storedHeaders, tagPolicy));
      if (await writer.commit({ headers: stored, ttlExpiresMs: ttl, tags })) outcome = { kind: 'stored' };
    }
  } else if (shared) {
    outcome = { kind: 'response', status: statusCode, headers: outHeaders, body: Buffer.concat(shared) };
  }
  if (res) {
    if (toClient && held) res.end(held);
    else res.end();
  }
  return { outcome, cache: 'MISS', status: statusCode, renderMs };
}

/**
 * The tags a stored file keeps (tags/parse.ts): an oversized tag header is cut by rule, logged
 * and counted, and the page is stored all the same.
 */
function storedTags(rt: Runtime, farm: Farm, docPath: string, headers: IncomingHttpHeaders, names: readonly string[]): readonly string[] {
  if (names.length === 0) return [];
  const parsed = responseTags(headers, names);
  if (parsed.invalid > 0 || parsed.overLimit > 0) {
    if (parsed.invalid > 0) rt.metrics.tagsDropped.inc({ farm: farm.name, reason: 'invalid' }, parsed.invalid);
    if (parsed.overLimit > 0) rt.metrics.tagsDropped.inc({ farm: farm.name, reason: 'too-many' }, parsed.overLimit);
    rt.log.warn(
      { farm: farm.name, path: docPath, kept: parsed.tags.length, invalid: parsed.invalid, overLimit: parsed.overLimit, example: parsed.example },
      `tags dropped: a tag is at most ${MAX_TAG_BYTES} bytes and a file keeps at most ${MAX_TAGS_PER_FILE} tags (the first ones are kept)`,
    );
  }
  return parsed.tags;
}

/** Replays a fill's non-stored response to a request that waited for it. */
export function sendShared(res: ServerResponse, o: Extract<FillOutcome, { kind: 'response' }>): void {
  const headers = { ...o.headers, [X_CACHE]: 'MISS', 'content-length': o.body.length };
  delete headers['transfer-encoding'];
  res.writeHead(o.status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : o.body);
}
