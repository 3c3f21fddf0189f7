/**
 * The flush endpoint (`flush.path` on the public listener): a plain node:http handler, answered
 * before farm selection whatever the `Host`, never forwarded to a render.
 *
 * Steps, in the contract's order ("the client check first (403), then action and handle
 * validation (400), then routing"): method → client → body (413) → parse (400) → route
 * (unrouted: ignore 200 / reject 404) → apply per farm → record (propagation hook) → refetch
 * → 200. Each step is a small function; the handler only runs them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import { routeFlush, type FlushRoute } from '../farms/select.js';
import { clientAddress, compileAddressList, type AddressMatcher } from '../http/client-address.js';
import type { Runtime } from '../runtime.js';
import type { Refetcher } from '../serve/refetch.js';
import { applyFlush, refetchAll, type FarmOutcome } from './apply.js';
import { parseFlush, type FlushRequest } from './parse.js';
import { readBody } from './read-body.js';
import type { RecentFlushes } from './recent.js';
import { flushJson, sendError, sendOk, type FlushResponseJson } from './respond.js';

/** What the propagation hook receives for every applied flush (never for `Test` or unrouted). */
export interface FlushAppliedEvent {
  readonly flush: FlushRequest;
  /** The flush time given to every `.stat` touched, ms since the epoch. */
  readonly at: number;
  readonly farms: readonly string[];
}

export interface FlushHandlerDeps {
  /** The runtime in force; read once per request, so a reload never splits a flush. */
  readonly getRuntime: () => Runtime;
  /** Fetches a URI into a farm's cache (serve path); used for invalidate-and-refetch. */
  readonly refetch: Refetcher;
  /**
   * Records an applied flush for the web farm; awaited before the 200 ("answered 200 only after
   * it is applied locally and, with propagation on, durably recorded"). A rejection → 503.
   */
  readonly onApplied?: (event: FlushAppliedEvent) => Promise<void>;
  readonly now?: () => number;
  /** Refetches in flight at once (default 8). */
  readonly refetchConcurrency?: number;
  /** Keeps applied flushes for the admin page. */
  readonly recent?: RecentFlushes;
  /** This server's name (the origin of flushes it receives). */
  readonly serverName?: () => string;
}

export type FlushHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const ALLOWED_METHODS = new Set(['GET', 'POST', 'HEAD']);

interface AccessLists {
  readonly trusted: AddressMatcher;
  readonly allowed: AddressMatcher;
}
/** Compiled once per config (configs are frozen; a reload brings a new object). */
const accessCache = new WeakMap<object, AccessLists>();

function accessLists(rt: Runtime): AccessLists {
  let lists = accessCache.get(rt.config);
  if (!lists) {
    lists = {
      trusted: compileAddressList(rt.config.server.trustedProxies),
      allowed: compileAddressList(rt.config.flush.allowedClients),
    };
    accessCache.set(rt.config, lists);
  }
  return lists;
}

/** "Not in `allowedClients` → 403, nothing done." Logged like Dispatcher's "Flushing rejected from 127.0.0.1". */
function authorize(rt: Runtime, req: IncomingMessage): string {
  const { trusted, allowed } = accessLists(rt);
  const peer = req.socket.remoteAddress ?? '';
  const client = clientAddress(peer, req.headers['x-forwarded-for'], trusted);
  if (!allowed(client)) {
    rt.log.warn({ client, peer, xff: req.headers['x-forwarded-for'] }, `flushing rejected from ${client}`);
    throw new AppError('FG_FLUSH_FORBIDDEN', `flush not allowed from ${client}`);
  }
  return client;
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

/**
 * Routes and applies a validated flush: the part shared by the flush endpoint and the admin
 * page's flush form (which is authorized by the admin token instead of `allowedClients`).
 * Throws AppError; answers nothing itself.
 */
export async function executeFlush(deps: FlushHandlerDeps, rt: Runtime, flush: FlushRequest, client: string): Promise<FlushResponseJson> {
  const now = deps.now ?? Date.now;
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  const routes = routeFlush(rt.farms, flush.routingKey);
  const log = { client, handle: flush.handle, path: flush.routingKey, action: flush.action };

  if (flush.action === 'Test') {
    // "`Test` does nothing and answers 200" (contract section 4): AEM's "Test Connection"
    // only looks at the status. The farms it would reach are listed; nothing is propagated.
    rt.log.info({ ...log, farms: routes.map((r) => r.farm.name) }, 'flush test');
    return flushJson(flush, routes.map(emptyOutcome), false, elapsed());
  }
  if (routes.length === 0) {
    rt.metrics.flushUnrouted.inc();
    rt.log.warn({ ...log, unrouted: rt.config.flush.unrouted }, 'flush routed to no farm');
    if (rt.config.flush.unrouted === 'reject') {
      throw new AppError('FG_FLUSH_UNROUTED', `no farm routes CQ-Path ${flush.routingKey}`);
    }
    return flushJson(flush, [], true, elapsed());
  }

  const at = now();
  const applied = await applyFlush(rt, flush, routes, at);
  rt.metrics.flushDuration.observe(elapsed() / 1000);
  deps.recent?.record({
    time: new Date(at).toISOString(),
    origin: deps.serverName?.() ?? rt.config.server.name,
    action: flush.action,
    scope: flush.scope,
    handle: flush.handle,
    path: flush.routingKey,
    farms: applied.outcomes.map((o) => o.farm),
    touched: applied.outcomes.reduce((n, o) => n + o.touched.length, 0),
    deleted: applied.outcomes.reduce((n, o) => n + o.deleted.length, 0),
    ms: elapsed(),
    result: applied.failure ? applied.failure.message : 'ok',
  });
  if (applied.failure) throw applied.failure;

  if (deps.onApplied) {
    try {
      await deps.onApplied({ flush, at, farms: routes.map((r) => r.farm.name) });
    } catch (err) {
      throw new AppError('FG_FLUSH_NOT_RECORDED', `flush applied locally but not recorded: ${(err as Error).message}`, { cause: err });
    }
  }
  if (flush.refetch.length > 0) {
    await refetchAll(rt, routes, applied.outcomes, flush.refetch, deps.refetch, deps.refetchConcurrency ?? 8);
  }
  return flushJson(flush, applied.outcomes, false, elapsed());
}

export function createFlushHandler(deps: FlushHandlerDeps): FlushHandler {
  return async function handleFlush(req, res) {
    const rt = deps.getRuntime();
    let flush: FlushRequest | undefined;
    try {
      checkMethod(req);
      const client = authorize(rt, req);
      const body = await readBody(req, rt.config.server.limits.flushBodyBytes, rt.config.server.limits.headersTimeoutMs);
      const parsed = parseFlush(req.headers, body, rt.config.server.limits);
      if (!parsed.ok) throw parsed.error;
      flush = parsed.flush;
      sendOk(req, res, await executeFlush(deps, rt, flush, client));
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
      sendError(req, res, error);
    }
  };
}

function emptyOutcome(route: FlushRoute): FarmOutcome {
  return { farm: route.farm.name, route: route.glob, deleted: [], touched: [], refetch: [], ms: 0 };
}
