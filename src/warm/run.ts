/**
 * Warming: GET every target through the running farmgate, at most `concurrency` at a time, with
 * the target's Host header (fetch() cannot set Host, so undici's request is used), and count the
 * `X-Cache` answers. A MISS means the page was fetched from the render and stored; a second run
 * should then be all HITs.
 */
import { Agent, request } from 'undici';
import type { WarmTarget } from './sources.js';

export type CacheOutcome = 'hit' | 'miss' | 'stale' | 'pass';

export interface WarmResult {
  readonly target: WarmTarget;
  readonly status?: number;
  readonly cache?: CacheOutcome;
  /** Set when the URL failed: a transport error or a status of 400 and above. */
  readonly error?: string;
  readonly ms: number;
}

export interface WarmOptions {
  /** Where farmgate listens, e.g. `http://127.0.0.1:8080`. */
  readonly base: string;
  readonly concurrency: number;
  /** Per request: to the response headers, and between body bytes. */
  readonly timeoutMs?: number;
  readonly onResult?: (result: WarmResult, done: number, total: number) => void;
  readonly now?: () => number;
}

export interface WarmSummary {
  readonly results: WarmResult[];
  readonly hit: number;
  readonly miss: number;
  readonly stale: number;
  readonly pass: number;
  readonly errors: number;
  readonly ms: number;
}

/** One client for a run: sends a GET to `base + path` with `Host: host`, returns the body text. */
export function createClient(base: string, timeoutMs = 30_000) {
  const agent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connections: 64 });
  const get = async (t: WarmTarget) => {
    const res = await request(new URL(t.path, base).href, {
      method: 'GET',
      headers: { host: t.host, 'user-agent': 'farmgate-warm' },
      dispatcher: agent,
    });
    const body = await res.body.text();
    const xcache = res.headers['x-cache'];
    return { status: res.statusCode, body, xcache: (Array.isArray(xcache) ? xcache[0] : xcache)?.toLowerCase() };
  };
  return { get, close: () => agent.close() };
}

export async function warm(targets: readonly WarmTarget[], opts: WarmOptions): Promise<WarmSummary> {
  const now = opts.now ?? Date.now;
  const started = now();
  const client = createClient(opts.base, opts.timeoutMs);
  const results: WarmResult[] = new Array(targets.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      const target = targets[i]!;
      const t0 = now();
      let result: WarmResult;
      try {
        const res = await client.get(target);
        const cache = ['hit', 'miss', 'stale', 'pass'].includes(res.xcache ?? '') ? (res.xcache as CacheOutcome) : undefined;
        const error = res.status >= 400 ? `HTTP ${res.status}` : undefined;
        result = { target, status: res.status, ...(cache ? { cache } : {}), ...(error ? { error } : {}), ms: now() - t0 };
      } catch (err) {
        result = { target, error: describeError(err), ms: now() - t0 };
      }
      results[i] = result;
      opts.onResult?.(result, ++done, targets.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, targets.length)) }, worker));
  } finally {
    await client.close();
  }
  const count = (c: CacheOutcome) => results.filter((r) => !r.error && r.cache === c).length;
  return {
    results,
    hit: count('hit'),
    miss: count('miss'),
    stale: count('stale'),
    pass: count('pass'),
    errors: results.filter((r) => r.error).length,
    ms: now() - started,
  };
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
