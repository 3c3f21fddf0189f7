/**
 * Requests to a farm's renders (the CMS publish servers), through undici 7 connection pools.
 *
 * Renders are taken in turn; one that cannot be reached is skipped for `retryDelayMs` and the
 * request goes to the next; 502 only when none can be reached. `connectTimeoutMs` bounds the TCP
 * connect (and the TLS handshake of an https render); past it the render counts as unreachable.
 * `timeoutMs` bounds the wait for the response headers and the longest gap between body bytes
 * (undici headersTimeout/bodyTimeout).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { AppError } from '../errors.js';

export interface RenderTarget {
  readonly url: string;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
}

export interface RenderRequest {
  readonly method: string;
  /** Path with query string, as sent to the render. */
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  /** A buffered body can be retried on the next render; a stream cannot. */
  readonly body?: Buffer | Readable | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface RenderResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** Which render answered. */
  readonly render: string;
}

/** Errors that mean "this render cannot be reached": try the next one. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'ECONNRESET',
]);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 4; i++, e = e.cause as typeof e) if (e.code) return e.code;
  return undefined;
}

export function isTimeoutError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && TIMEOUT.has(code);
}

/** What serving needs from a farm's renders (a fake in unit tests, undici pools here). */
export interface RenderClient {
  /**
   * Sends a request; fails over to the next render on connection errors. Throws AppError
   * FG_RENDER_UNREACHABLE (→ 502) or FG_RENDER_TIMEOUT (→ 504), keeping the cause.
   */
  request(req: RenderRequest): Promise<RenderResponse>;
  close(): Promise<void>;
}

interface Slot {
  readonly target: RenderTarget;
  readonly pool: Pool;
  downUntil: number;
}

export class RenderPool implements RenderClient {
  readonly #slots: Slot[];
  readonly #retryDelayMs: number;
  readonly #now: () => number;
  #next = 0;

  constructor(renders: readonly RenderTarget[], retryDelayMs: number, now: () => number = Date.now) {
    this.#slots = renders.map((target) => ({
      target,
      pool: new Pool(target.url, {
        connections: 256,
        pipelining: 1,
        keepAliveTimeout: 4000,
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
        connect: { timeout: target.connectTimeoutMs },
      }),
      downUntil: 0,
    }));
    this.#retryDelayMs = retryDelayMs;
    this.#now = now;
  }

  /** Renders to try, in turn: the ones not being skipped first, then the skipped ones. */
  #order(): Slot[] {
    const n = this.#slots.length;
    const start = this.#next++ % n;
    const rotated = [...this.#slots.slice(start), ...this.#slots.slice(0, start)];
    const now = this.#now();
    return [...rotated.filter((s) => s.downUntil <= now), ...rotated.filter((s) => s.downUntil > now)];
  }

  /**
   * Sends a request; fails over to the next render on connection errors. Throws AppError
   * FG_RENDER_UNREACHABLE (→ 502) or FG_RENDER_TIMEOUT (→ 504), keeping the cause.
   */
  async request(req: RenderRequest): Promise<RenderResponse> {
    const canRetry = req.body === undefined || Buffer.isBuffer(req.body);
    let lastErr: unknown;
    for (const slot of this.#order()) {
      try {
        const res = await slot.pool.request({
          method: req.method as 'GET',
          path: req.path,
          headers: req.headers,
          body: req.body ?? null,
          signal: req.signal ?? null,
          headersTimeout: slot.target.timeoutMs,
          bodyTimeout: slot.target.timeoutMs,
        });
        return { statusCode: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: res.body, render: slot.target.url };
      } catch (err) {
        lastErr = err;
        if (req.signal?.aborted) throw err;
        if (isTimeoutError(err)) throw new AppError('FG_RENDER_TIMEOUT', `render ${slot.target.url} timed out`, { cause: err });
        const code = errorCode(err);
        if (code === undefined || !UNREACHABLE.has(code)) {
          throw new AppError('FG_RENDER_BAD_RESPONSE', `render ${slot.target.url} failed: ${(err as Error).message}`, { cause: err });
        }
        slot.downUntil = this.#now() + this.#retryDelayMs;
        if (!canRetry) break;
      }
    }
    throw new AppError('FG_RENDER_UNREACHABLE', `no render reachable (${(lastErr as Error)?.message ?? 'unknown error'})`, { cause: lastErr });
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.pool.close().catch(() => {})));
  }
}
