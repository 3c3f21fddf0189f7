/**
 * `POST /farmgate/v1/webhooks/{name}` (contract section 4a): a CMS's outgoing webhook, turned into
 * an invalidation. Answered before farm selection, never with `X-Cache`.
 *
 * Steps: the webhook by name (404) → POST (405) → body within `flushBodyBytes` (413) → verified
 * as its kind allows (401; nothing done) → JSON (400) → a retry or replay already applied: 200,
 * nothing done again → mapped by its kind: understood but nothing depends on it → 200, logged and
 * counted (`ignored`); not this kind's payload → 400; otherwise applied and recorded like the API
 * (invalidation/run.ts) → 200. It answers as soon as the invalidation is applied locally and
 * recorded: no call back to the CMS, nothing queued for later.
 *
 * A secret in the path (`auth: path`) never reaches the log.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WEBHOOK_PREFIX } from '../../config/invalidation-schema.js';
import { AppError } from '../../errors.js';
import { readBody } from '../../flush/read-body.js';
import type { Runtime } from '../../runtime.js';
import { resultLabel } from '../api.js';
import type { RecentFlushes } from '../../flush/recent.js';
import { sendInvalidationError, sendJson } from '../respond.js';
import type { Invalidator } from '../types.js';
import { adapterFor } from './adapters.js';
import { RecentKeys } from './dedupe.js';
import type { WebhookRequest } from './types.js';

export interface WebhookHandlerDeps {
  readonly getRuntime: () => Runtime;
  readonly invalidate: Invalidator;
  readonly now?: () => number;
  /** Refused webhooks and those that map to nothing are listed with the recent flushes. */
  readonly recent?: RecentFlushes;
}

/** `/farmgate/v1/webhooks/{name}[/{secret}]` → name and secret; undefined when not that shape. */
export function webhookTarget(pathname: string): { name: string; secret: string | undefined } | undefined {
  if (!pathname.startsWith(WEBHOOK_PREFIX)) return undefined;
  const rest = pathname.slice(WEBHOOK_PREFIX.length).split('/');
  if (rest.length > 2 || !rest[0]) return undefined;
  let secret: string | undefined;
  try {
    secret = rest[1] === undefined ? undefined : decodeURIComponent(rest[1]);
  } catch {
    secret = rest[1];
  }
  return { name: rest[0], secret };
}

export function createWebhookHandler(deps: WebhookHandlerDeps) {
  const now = deps.now ?? Date.now;
  const seen = new RecentKeys(undefined, undefined, now);

  return async function handleWebhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rt = deps.getRuntime();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const target = webhookTarget(q < 0 ? url : url.slice(0, q));
    const hook = target && rt.config.invalidation.webhooks.find((w) => w.name === target.name);
    const name = hook?.name ?? 'unknown';
    const log = rt.log.child({ webhook: name, kind: hook?.kind });
    const count = (result: string) => {
      rt.metrics.webhooks.inc({ webhook: name, result });
      rt.metrics.invalidationRequests.inc({ source: 'webhook', result });
    };
    const client = `webhook:${name}`;
    const notRun = (status: number, reason: string, outcome: 'refused' | 'unrouted') =>
      deps.recent?.notRun({ at: now(), origin: rt.config.server.name, door: 'webhook', client, action: 'invalidate', status, reason, outcome });
    let ran = false;
    try {
      if (!target || !hook) throw new AppError('FG_WEBHOOK_UNKNOWN', `no webhook named ${JSON.stringify(target?.name ?? '')} (see invalidation.webhooks)`);
      if (target.secret !== undefined && hook.auth !== 'path') throw new AppError('FG_WEBHOOK_UNKNOWN', `no webhook at this path (webhook ${hook.name} takes no path secret)`);
      if (req.method !== 'POST') throw new AppError('FG_INVALIDATION_METHOD', `method ${req.method} not allowed: webhooks are POSTs`);
      const body = await readBody(req, rt.config.server.limits.flushBodyBytes, rt.config.server.limits.headersTimeoutMs).catch((err: unknown) => {
        if (err instanceof AppError && err.code === 'FG_FLUSH_BODY_TOO_LARGE') throw new AppError('FG_INVALIDATION_TOO_LARGE', err.message.replace('flush body', 'webhook body'));
        throw err;
      });
      const request: WebhookRequest = {
        method: req.method,
        url,
        headers: req.headers,
        body,
        pathSecret: target.secret,
        now: now(),
        farmNames: rt.farms.map((f) => f.name),
      };
      const adapter = adapterFor(hook);
      const verified = adapter.verify(request);
      if (!verified.ok) throw new AppError('FG_WEBHOOK_UNAUTHORIZED', `webhook ${hook.name}: ${verified.reason}`);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new AppError('FG_WEBHOOK_BAD_REQUEST', `webhook ${hook.name}: body is not JSON: ${(err as Error).message}`);
      }
      const dedupe = adapter.dedupeKey(request, json);
      if (dedupe?.check && (seen.seen(dedupe.keys) || (await seen.pending(dedupe.keys)))) {
        count('duplicate');
        log.info({ keys: dedupe.keys.length }, 'webhook already applied (a retry or a replay): nothing done again');
        return sendJson(req, res, 200, { webhook: hook.name, result: 'duplicate' });
      }
      const mapping = adapter.map(request, json);
      if (mapping.kind === 'malformed') throw new AppError('FG_WEBHOOK_BAD_REQUEST', `webhook ${hook.name}: ${mapping.reason}`);
      if (mapping.kind === 'refused') throw new AppError('FG_WEBHOOK_UNAUTHORIZED', `webhook ${hook.name}: ${mapping.reason}`);
      if (mapping.kind === 'ignore' || (mapping.paths.length === 0 && mapping.tags.length === 0)) {
        const reason = mapping.kind === 'ignore' ? mapping.reason : 'it names no path and no tag';
        count('ignored');
        log.info({ event: mapping.event, reason }, 'webhook understood, maps to nothing');
        notRun(200, `webhook ${hook.name}${mapping.event ? `, event ${mapping.event}` : ''}: maps to nothing (${reason})`, 'unrouted');
        return sendJson(req, res, 200, { webhook: hook.name, event: mapping.event, result: 'ignored', reason });
      }
      if (mapping.refusedPaths?.length) log.warn({ event: mapping.event, refused: mapping.refusedPaths }, 'webhook: template results that are not valid paths were left out');
      const farms = mapping.farms ?? hook.farms;
      const invalidation = { action: mapping.action, paths: mapping.paths, tags: mapping.tags, farms };
      ran = true;
      const run = () => deps.invalidate(rt, invalidation, { door: 'webhook', client });
      const result = dedupe ? await seen.run(dedupe.keys, run) : await run();
      count('applied');
      log.info({ event: mapping.event, action: mapping.action, paths: mapping.paths, tags: mapping.tags }, 'webhook applied');
      sendJson(req, res, 200, { webhook: hook.name, event: mapping.event, result: 'applied', ...result });
    } catch (err) {
      if (!(err instanceof AppError) && req.socket.destroyed) return;
      const error = err instanceof AppError ? err : new AppError('FG_FLUSH_IO', (err as Error).message, { cause: err });
      count(error.code === 'FG_WEBHOOK_UNKNOWN' ? 'unknown' : resultLabel(error));
      const fields = { status: error.status, code: error.code, reason: error.message };
      if (error.status >= 500) log.error(fields, 'webhook failed');
      else log.warn(fields, 'webhook refused');
      if (!ran) notRun(error.status, error.message, 'refused');
      sendInvalidationError(req, res, error);
    }
  };
}

