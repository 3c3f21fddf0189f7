/**
 * The invalidation API (contract section 4a): `POST invalidation.api.path` on the public listener,
 * answered before farm selection whatever the `Host`, never forwarded, never with `X-Cache`.
 *
 * Steps, each a refusal that touches nothing: method (405) → client address, when
 * `flush.allowedClients` is not the default (403) → body within `flushBodyBytes` (413) →
 * `X-Farmgate-Signature` over the exact bytes (401) → JSON of the documented shape (400; a stale
 * signed `ts` 401) → a replay of a signed `ts` body: 200, nothing done again → apply and record
 * (invalidation/run.ts) → 200 with JSON per farm.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_ALLOWED_CLIENTS } from '../config/schema.js';
import { AppError } from '../errors.js';
import { readBody } from '../flush/read-body.js';
import type { RecentFlushes } from '../flush/recent.js';
import { clientAddress, type AddressMatcher } from '../net/client-address.js';
import type { Runtime } from '../runtime.js';
import { RecentKeys } from './webhooks/dedupe.js';
import { API_MAX_AGE_MS, parseInvalidation } from './request.js';
import { SIGNATURE_HEADER, verifyBodySignature } from './signature.js';
import type { Invalidator } from './types.js';
import { sendJson, sendInvalidationError } from './respond.js';

export interface ApiHandlerDeps {
  readonly getRuntime: () => Runtime;
  readonly invalidate: Invalidator;
  readonly now?: () => number;
  /** Refusals are listed with the recent flushes (an applied invalidation lists itself). */
  readonly recent?: RecentFlushes;
}

interface Lists {
  readonly trusted: AddressMatcher;
  readonly allowed: AddressMatcher | undefined;
}

/** The runtime's compiled lists; `allowed` only when `flush.allowedClients` is not the default. */
function accessLists(rt: Runtime): Lists {
  const allowed = rt.config.flush.allowedClients;
  const isDefault = allowed.length === DEFAULT_ALLOWED_CLIENTS.length && DEFAULT_ALLOWED_CLIENTS.every((a) => allowed.includes(a));
  return { trusted: rt.access.trusted, allowed: isDefault ? undefined : rt.access.allowed };
}

export function createInvalidationApiHandler(deps: ApiHandlerDeps) {
  const now = deps.now ?? Date.now;
  // Signatures of bodies with a `ts`, for the replay window.
  const replays = new RecentKeys(2 * API_MAX_AGE_MS, 10_000, now);

  return async function handleInvalidationApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rt = deps.getRuntime();
    const api = rt.config.invalidation.api!;
    const started = performance.now();
    let client = req.socket.remoteAddress ?? '';
    let ran = false;
    try {
      if (req.method !== 'POST') throw new AppError('FG_INVALIDATION_METHOD', `method ${req.method} not allowed: the invalidation API takes POST`);
      const { trusted, allowed } = accessLists(rt);
      client = clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], trusted);
      if (allowed && !allowed(client)) throw new AppError('FG_FLUSH_FORBIDDEN', `invalidation not allowed from ${client}`);
      const body = await readBody(req, rt.config.server.limits.flushBodyBytes, rt.config.server.limits.headersTimeoutMs).catch((err: unknown) => {
        if (err instanceof AppError && err.code === 'FG_FLUSH_BODY_TOO_LARGE') throw new AppError('FG_INVALIDATION_TOO_LARGE', err.message.replace('flush body', 'invalidation body'));
        throw err;
      });
      const signed = verifyBodySignature(body, req.headers[SIGNATURE_HEADER], api.secret);
      if (!signed.ok) throw new AppError('FG_INVALIDATION_UNAUTHORIZED', signed.reason);
      const parsed = parseInvalidation(body, { farmNames: rt.farms.map((f) => f.name), now: now() });
      if (!parsed.ok) throw parsed.error;
      const replayKey = parsed.ts !== undefined ? [String(req.headers[SIGNATURE_HEADER]).trim().toLowerCase()] : [];
      if (replayKey.length && (replays.seen(replayKey) || (await replays.pending(replayKey)))) {
        rt.metrics.invalidationRequests.inc({ source: 'api', result: 'duplicate' });
        rt.log.info({ client }, 'invalidation replayed: already applied');
        return sendJson(req, res, 200, { duplicate: true });
      }
      ran = true;
      const run = () => deps.invalidate(rt, parsed.value, { door: 'api', client });
      const json = replayKey.length ? await replays.run(replayKey, run) : await run();
      rt.metrics.invalidationRequests.inc({ source: 'api', result: 'applied' });
      rt.log.info({ client, paths: parsed.value.paths.length, tags: parsed.value.tags.length, ms: Math.round(performance.now() - started) }, 'invalidation applied');
      sendJson(req, res, 200, json);
    } catch (err) {
      if (!(err instanceof AppError) && req.socket.destroyed) return;
      const error = err instanceof AppError ? err : new AppError('FG_FLUSH_IO', (err as Error).message, { cause: err });
      rt.metrics.invalidationRequests.inc({ source: 'api', result: resultLabel(error) });
      const fields = { client, status: error.status, code: error.code, reason: error.message };
      if (error.status >= 500) rt.log.error(fields, 'invalidation failed');
      else rt.log.warn(fields, 'invalidation refused');
      if (!ran) deps.recent?.notRun({ at: now(), origin: rt.config.server.name, door: 'api', client, action: 'invalidate', status: error.status, reason: error.message });
      sendInvalidationError(req, res, error);
    }
  };
}

/** Metric label of a refusal or failure. */
export function resultLabel(error: AppError): string {
  if (error.status === 401) return 'unauthorized';
  if (error.status === 403) return 'forbidden';
  if (error.status === 413) return 'too-large';
  if (error.status === 405) return 'method';
  if (error.status === 503) return 'not-recorded';
  if (error.status >= 500) return 'error';
  return 'bad-request';
}
