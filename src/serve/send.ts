/**
 * Writing responses on the public listener: cached files, plain-text errors, streamed bodies.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import mime from 'mime-types';
import type { CachedFile } from '../cache/hot-layer.js';
import { AppError } from '../errors.js';

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

/**
 * Serves a cached file: headers replayed from `.h` (Content-Type guessed from the extension
 * when none was stored, as a web server serving the docroot would), body from memory or disk.
 */
export function sendCached(res: ServerResponse, file: CachedFile, cache: CacheStatus): Promise<void> | void {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of file.headers) {
    const prev = headers[name];
    headers[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value];
  }
  if (headers['content-type'] === undefined) {
    headers['content-type'] = mime.contentType(path.extname(file.absPath)) || 'application/octet-stream';
  }
  headers[X_CACHE] = cache;
  const req = res.req;
  if ((req.method === 'GET' || req.method === 'HEAD') && notModified(req.headers, headers)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['content-length'] = file.size;
  res.writeHead(200, headers);
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
