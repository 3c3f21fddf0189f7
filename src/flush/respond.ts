/**
 * Flush responses. Success: "200, `Content-Type: text/html`, body `<H1>OK</H1>`, header
 * `X-Farmgate-Farms: site-a, site-b` (present and empty when unrouted and ignored). With
 * `Accept: application/json`, the body is JSON" (contract section 4). Errors: a short
 * plain-text reason with the code's status. Flush responses carry no `X-Cache`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppError } from '../errors.js';
import type { FarmOutcome, FlushRequest } from './types.js';

const FARMS_HEADER = 'X-Farmgate-Farms';

/** The JSON body of a successful flush (`Accept: application/json`). */
export interface FlushResponseJson {
  readonly action: FlushRequest['action'];
  readonly scope: 'ResourceOnly' | null;
  readonly handle: string;
  readonly routingKey: string;
  /** True when no farm routes the key and `flush.unrouted` is `ignore`. */
  readonly unrouted: boolean;
  readonly farms: readonly {
    farm: string;
    route: string;
    deleted: readonly string[];
    touched: readonly string[];
    refetch: readonly { uri: string; ok: boolean; status?: number; error?: string }[];
    ms: number;
    /** Set when this farm's flush failed. */
    error?: string;
  }[];
  readonly ms: number;
}

export function flushJson(flush: FlushRequest, outcomes: readonly FarmOutcome[], unrouted: boolean, ms: number): FlushResponseJson {
  return {
    action: flush.action,
    scope: flush.scope ?? null,
    handle: flush.handle,
    routingKey: flush.routingKey,
    unrouted,
    farms: outcomes.map((o) => ({
      farm: o.farm,
      route: o.route,
      deleted: o.deleted,
      touched: o.touched,
      refetch: o.refetch,
      ms: o.ms,
      ...(o.error !== undefined ? { error: o.error } : {}),
    })),
    ms,
  };
}

export function wantsJson(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  if (!accept.toLowerCase().includes('json')) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    return type === 'application/json' && !params.some((p) => /^q=0(?:\.0*)?$/.test(p));
  });
}

export function sendOk(req: IncomingMessage, res: ServerResponse, body: FlushResponseJson): void {
  const json = wantsJson(req);
  const text = json ? JSON.stringify(body) + '\n' : '<H1>OK</H1>';
  // One writeHead with every header: a flush burst answers thousands of these a second.
  res.writeHead(200, {
    [FARMS_HEADER]: body.farms.map((f) => f.farm).join(', '),
    'Content-Type': json ? 'application/json' : 'text/html',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}

export function sendError(req: IncomingMessage, res: ServerResponse, err: AppError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = err.message.replace(/[\r\n]+/g, ' ') + '\n';
  res.statusCode = err.status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  if (err.code === 'FG_FLUSH_METHOD') res.setHeader('Allow', 'GET, POST, HEAD');
  // The rest of an oversized body is never read: close the connection after answering.
  if (err.code === 'FG_FLUSH_BODY_TOO_LARGE' || err.code === 'FG_FLUSH_BODY_TIMEOUT') res.setHeader('Connection', 'close');
  res.end(req.method === 'HEAD' ? undefined : text);
}
