/**
 * Writing responses on the public listener: cached files, plain-text errors, streamed bodies.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import mime from 'mime-types';
import { isSetByFarmgate } from '../header-names.js';
import type { CachedFile } from '../cache/store.js';
import { AppError } from '../errors.js';
import { decideRange, ifRangeMatches } from './range.js';

export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'PASS';

/** `X-Cache` on every response of the public listener except flush responses. */
export const X_CACHE = 'x-cache';

/** Short plain-text error answer, e.g. `502 render unreachable: connect ECONNREFUSED`. */
export function sendError(res: ServerResponse, err: AppError, cache: CacheStatus | undefined): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = `${err.status} ${err.message}\n`;
  const headers: OutgoingHttpHeaders = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  };
  if (cache) headers[X_CACHE] = cache;
  res.writeHead(err.status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Does a conditional request match the cached copy (→ 304)? */
function notModified(reqHeaders: NodeJS.Dict<string | string[]>, stored: OutgoingHttpHeaders): boolean {
  const inm = reqHeaders['if-none-match'];
  const etag = stored['etag'];
  if (inm !== undefined && typeof etag === 'string') {
    const tags = (Array.isArray(inm) ? inm.join(',') : inm).split(',').map((t) => t.trim().replace(/^W\//, ''));
    return tags.includes('*') || tags.includes(etag.replace(/^W\//, ''));
  }
  const ims = reqHeaders['if-modified-since'];
  const lm = stored['last-modified'];
  if (typeof ims === 'string' && typeof lm === 'string') {
    const a = Date.parse(ims);
    const b = Date.parse(lm);
    return !Number.isNaN(a) && !Number.isNaN(b) && b <= a;
  }
  return false;
}

/** Headers of a cached file, built once per hot entry (see CachedFile.replay). */
interface Replay {
  /** stored headers, Content-Type defaulted: for 304s and conditional checks */
  readonly headers: OutgoingHttpHeaders;
  /** flat [name, value, ...] for a 200, per X-Cache value: what writeHead takes fastest */
  readonly ok: Partial<Record<CacheStatus, readonly (string | number)[]>>;
  /** Can nginx replay every stored header after an X-Accel-Redirect? */
  readonly accel: boolean;
}

/**
 * Stored headers that reach the client after an X-Accel-Redirect: nginx itself copies
 * Content-Type, Cache-Control, Expires and Content-Disposition from the upstream answer; the
 * internal location of nginx/README.md adds ETag and Last-Modified (and X-Cache). A file with
 * any other stored header is sent by farmgate as usual.
 */
const ACCEL_KEEPS = new Set(['content-type', 'cache-control', 'expires', 'content-disposition', 'etag', 'last-modified']);

/** Characters of a document path that go into X-Accel-Redirect unchanged. */
const ACCEL_SAFE_PATH = /^(?:\/[A-Za-z0-9._~-]+)+$/;

/**
 * A fresh HIT handed to nginx: the stored headers, `X-Cache: HIT`, `X-Accel-Redirect` and no
 * body; nginx sends the file from its internal location on the docroot. Returns false (nothing
 * written) when this file cannot go that way: a conditional request (farmgate answers 304s
 * itself), a stored header nginx would drop, or a path with characters nginx would re-decode.
 */
export function sendAccel(res: ServerResponse, file: CachedFile, target: string, docPath: string): boolean {
  const req = res.req;
  if (
    req.method !== 'GET' ||
    req.headers['if-none-match'] !== undefined ||
    req.headers['if-modified-since'] !== undefined ||
    req.headers.range !== undefined
  ) {
    return false;
  }
  const replay = replayOf(file);
  if (!replay.accel || !ACCEL_SAFE_PATH.test(docPath)) return false;
  const flat = replay.ok.HIT!;
  // nginx sends the file without range support (max_ranges 0): no Accept-Ranges, no length here.
  const headers = flat.slice(0, flat.length - 6).concat(flat.slice(flat.length - 4, flat.length - 2));
  headers.push('x-accel-redirect', target, 'content-length', 0);
  res.writeHead(200, headers);
  res.end();
  return true;
}

function replayOf(file: CachedFile): Replay {
  if (file.replay) return file.replay as Replay;
  const headers: OutgoingHttpHeaders = {};
  const flat: (string | number)[] = [];
  for (const [name, value] of file.headers) {
    // Never a second Content-Length (or hop-by-hop, X-Cache) beside farmgate's own: older `.h`
    // files, or ones another process wrote, may hold them (src/header-names.ts).
    if (isSetByFarmgate(name)) continue;
    const prev = headers[name];
    headers[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value];
    flat.push(name, value);
  }
  if (headers['content-type'] === undefined) {
    const type = mime.contentType(path.extname(file.absPath)) || 'application/octet-stream';
    headers['content-type'] = type;
    flat.push('content-type', type);
  }
  const replay: Replay = {
    headers,
    accel: file.headers.every(([name]) => ACCEL_KEEPS.has(name) || isSetByFarmgate(name)),
    ok: {
      HIT: [...flat, 'accept-ranges', 'bytes', X_CACHE, 'HIT', 'content-length', file.size],
      STALE: [...flat, 'accept-ranges', 'bytes', X_CACHE, 'STALE', 'content-length', file.size],
      MISS: [...flat, 'accept-ranges', 'bytes', X_CACHE, 'MISS', 'content-length', file.size],
    },
  };
  // Only entries of the hot layer live long enough to be worth it; others are built per call.
  file.replay = replay;
  return replay;
}

/**
 * Serves a cached file: headers replayed from `.h` (Content-Type guessed from the extension
 * when none was stored, as a web server serving the docroot would), body from memory or disk,
 * one byte range of it for a GET with a Range header (serve/range.ts).
 * Synchronous (returns undefined) when the body is in memory or not needed.
 */
export function sendCached(res: ServerResponse, file: CachedFile, cache: CacheStatus): Promise<void> | void {
  const replay = replayOf(file);
  const req = res.req;
  const rh = req.headers;
  if (
    (rh['if-none-match'] !== undefined || rh['if-modified-since'] !== undefined) &&
    (req.method === 'GET' || req.method === 'HEAD') &&
    notModified(rh, replay.headers)
  ) {
    res.writeHead(304, { ...replay.headers, [X_CACHE]: cache });
    res.end();
    return;
  }
  if (rh.range !== undefined && req.method === 'GET') {
    const etag = replay.headers['etag'];
    const lm = replay.headers['last-modified'];
    const ifRange = rh['if-range'];
    const range = ifRangeMatches(Array.isArray(ifRange) ? ifRange.join(', ') : ifRange, typeof etag === 'string' ? etag : undefined, typeof lm === 'string' ? lm : undefined)
      ? decideRange(rh.range, file.size)
      : undefined;
    if (range?.kind === 'unsatisfiable') {
      const body = '416 range not satisfiable\n';
      res.writeHead(416, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'content-range': `bytes */${file.size}`,
        [X_CACHE]: cache,
      });
      res.end(body);
      return;
    }
    if (range?.kind === 'partial') return sendPart(res, file, replay, cache, range.start, range.end);
  }
  res.writeHead(200, replay.ok[cache] as (string | number)[]);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  if (file.body) {
    res.end(file.body);
    return;
  }
  return pipeline(fs.createReadStream(file.absPath), res).catch(() => {
    // File replaced or removed mid-read, or the client left: the socket is closed either way.
    res.destroy();
  });
}

/** 206: bytes start..end (inclusive) of a cached file. */
function sendPart(res: ServerResponse, file: CachedFile, replay: Replay, cache: CacheStatus, start: number, end: number): Promise<void> | void {
  res.writeHead(206, {
    ...replay.headers,
    'accept-ranges': 'bytes',
    [X_CACHE]: cache,
    'content-range': `bytes ${start}-${end}/${file.size}`,
    'content-length': end - start + 1,
  });
  if (file.body) {
    res.end(file.body.subarray(start, end + 1));
    return;
  }
  return pipeline(fs.createReadStream(file.absPath, { start, end }), res).catch(() => {
    res.destroy();
  });
}

/**
 * Writes a chunk, waiting for drain when the socket is full. Resolves false when the client has
 * gone, so a caller filling the cache keeps reading the render regardless.
 */
export function writeChunk(res: ServerResponse, chunk: Buffer): Promise<boolean> | boolean {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(chunk)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

export function toAppError(err: unknown): AppError {
  return err instanceof AppError ? err : new AppError('FG_RENDER_BAD_RESPONSE', (err as Error)?.message, { cause: err });
}
