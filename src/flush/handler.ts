/**
 * The flush endpoint (`flush.path` on the public listener): a plain node:http handler, answered
 * before farm selection whatever the `Host`, never forwarded to a render.
 *
 * Steps, in the contract's order ("the client check first (403), then action and handle
 * validation (400), then routing"): method → client → body (413) → parse (400) → the flush
 * operation (run-flush.ts: route, apply, record, publish, refetch) → 200. Each step is a small
 * function; the handler only runs them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import { clientAddress } from '../net/client-address.js';
import type { Runtime } from '../runtime.js';
import { parseFlush } from './parse.js';
import { readBody } from './read-body.js';
import { sendError, sendOk } from './respond.js';
import type { RunFlush } from './run-flush.js';
import type { RecentFlushes } from './recent.js';
import type { FlushRequest } from './types.js';

export interface FlushHandlerDeps {
  /** The runtime in force; read once per request, so a reload never splits a flush. */
  readonly getRuntime: () => Runtime;
  /** The flush operation (run-flush.ts). */
  readonly runFlush: RunFlush;
  /** Where refusals are listed (run-flush lists every flush it ran). */
  readonly recent?: RecentFlushes;
  readonly now?: () => number;
}

export type FlushHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const ALLOWED_METHODS = new Set(['GET', 'POST', 'HEAD']);

/** "Not in `allowedClients` → 403, nothing done." Logged like Dispatcher's "Flushing rejected from 127.0.0.1". */
function authorize(rt: Runtime, req: IncomingMessage, client: string): void {
  if (!rt.access.allowed(client)) {
    rt.log.warn({ client, peer: req.socket.remoteAddress, xff: req.headers['x-forwarded-for'] }, `flushing rejected from ${client}`);
    throw new AppError('FG_FLUSH_FORBIDDEN', `flush not allowed from ${client}`);
  }
}

function checkMethod(req: IncomingMessage): void {
  // GET (the stock flush agent) and POST (Adobe's docs, curl); HEAD is treated like GET.
  if (!ALLOWED_METHODS.has(req.method ?? '')) {
    throw new AppError('FG_FLUSH_METHOD', `method ${req.method} not allowed for flushes (GET, POST)`);
  }
}

function rejectReason(err: AppError): string {
  if (err.status === 403) return 'forbidden';
  if (err.status === 405) return 'method';
  if (err.status === 413) return 'too-large';
  if (err.status === 408) return 'timeout';
  return 'bad-request';
}

export function createFlushHandler(deps: FlushHandlerDeps): FlushHandler {
  return async function handleFlush(req, res) {
    const rt = deps.getRuntime();
    let flush: FlushRequest | undefined;
    const client = clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], rt.access.trusted);
    let ran = false;
    try {
      checkMethod(req);
      authorize(rt, req, client);
      const body = await readBody(req, rt.config.server.limits.flushBodyBytes, rt.config.server.limits.headersTimeoutMs);
      const parsed = parseFlush(req.headers, body, rt.config.server.limits);
      if (!parsed.ok) throw parsed.error;
      flush = parsed.flush;
      ran = true;
      const run = await deps.runFlush(rt, flush, { door: 'http', client });
      if (!run.ok) throw run.error;
      sendOk(req, res, run.json);
    } catch (err) {
      if (!(err instanceof AppError) && req.socket.destroyed) {
        rt.log.info({ reason: (err as Error).message }, 'flush client went away');
        return;
      }
      const error = err instanceof AppError ? err : new AppError('FG_FLUSH_IO', (err as Error).message, { cause: err });
      const fields = { status: error.status, code: error.code, reason: error.message, handle: flush?.handle };
      if (error.status >= 500) rt.log.error(fields, 'flush failed');
      else if (error.status !== 403) rt.log.info(fields, 'flush refused');
      if (error.status < 500 && error.code !== 'FG_FLUSH_UNROUTED') rt.metrics.flushRejected.inc({ reason: rejectReason(error) });
      // A flush that ran is in the recent list already (applied, failed or unrouted).
      if (!ran) {
        const handle = sent(req, 'cq-handle') ?? sent(req, 'cq-path');
        deps.recent?.notRun({
          at: (deps.now ?? Date.now)(),
          origin: rt.config.server.name,
          door: 'http',
          client,
          action: sent(req, 'cq-action'),
          scope: sent(req, 'cq-action-scope'),
          handle,
          path: sent(req, 'cq-path') ?? handle,
          status: error.status,
          reason: error.message,
        });
      }
      sendError(req, res, error);
    }
  };
}

/** Header values of a refused flush, as sent (it was not validated), cut to a readable length. */
function sent(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const text = Array.isArray(v) ? v.join(', ') : v;
  if (text === undefined || text.trim() === '') return undefined;
  return text.length > 200 ? text.slice(0, 200) + '…' : text;
}
