/**
 * The admin listener (contract section 6) as one route table (express 5: routing, bodies, the
 * token middleware; speed does not matter here, and the public hot path stays plain node:http):
 *
 * | method     | path                                   | what                                       |
 * |------------|----------------------------------------|--------------------------------------------|
 * | GET        | /healthz, /readyz, /metrics            | open                                       |
 * | GET        | /admin                                 | the dashboard (`?token=` sets the cookie)  |
 * | GET        | /admin/api/farms, flushes, servers, propagation |                                   |
 * | GET, POST  | /admin/api/explain                     | a flush as a dry run                       |
 * | GET, POST  | /admin/api/tags                        | a cached file's tags, a tag's cached files |
 * | POST       | /admin/api/flush                       | a flush (door `admin`)                     |
 * | POST       | /admin/api/hold, /admin/api/release    | this server                                |
 * | POST       | /admin/api/servers/{name}/hold|release | any server, relayed through Redis          |
 *
 * With `server.adminToken`, /admin and /admin/api need `Authorization: Bearer TOKEN`, or the
 * cookie a browser gets by opening `/admin?token=TOKEN` once. A POST authorized by that cookie
 * must also carry `X-Farmgate-Admin: 1` (the page's script sends it; another site cannot).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../errors.js';
import type { RecentFlushes } from '../flush/recent.js';
import type { RunFlush } from '../flush/run-flush.js';
import type { Metrics } from '../metrics.js';
import type { Propagation } from '../propagation/index.js';
import type { Runtime } from '../runtime.js';
import { explain, farmsStatus, flushFromAdmin, type ServerStatus } from './admin-api.js';
import { renderAdminPage } from './admin-page.js';
import { tagsLookup } from './admin-tags.js';

export interface AdminDeps {
  readonly getRuntime: () => Runtime;
  readonly metrics: Metrics;
  /** Extra readiness checks (propagation: Redis reachable). */
  readonly ready?: () => boolean;
  /** Web farm propagation, when on: /admin/api/servers, hold and release. */
  readonly propagation?: Propagation;
  /** The flush operation, for the admin flush form. */
  readonly runFlush?: RunFlush;
  readonly recentFlushes?: RecentFlushes;
}

const COOKIE = 'farmgate_admin';
/** Admin bodies are a handful of fields. */
const BODY_LIMIT = 64 * 1024;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === COOKIE && v) return decodeURIComponent(v);
  }
  return undefined;
}

function send(req: Request, res: Response, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
const text = (req: Request, res: Response, status: number, body: string) => send(req, res, status, body, 'text/plain; charset=utf-8');
const json = (req: Request, res: Response, status: number, body: unknown) =>
  send(req, res, status, JSON.stringify(body, null, 2) + '\n', 'application/json; charset=utf-8');

/** A POST-only route answers other methods 405 with `Allow: POST`. */
function onlyPost(req: Request, res: Response): void {
  res.setHeader('allow', 'POST');
  json(req, res, 405, { error: 'use POST' });
}

/** The parsed body: a JSON object or a form; anything else is a 400. */
function input(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === undefined) return {};
  if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  throw new AppError('FG_ADMIN_BAD_INPUT', 'expected a JSON object or a form');
}

export function createAdminHandler(deps: AdminDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const startedAt = new Date().toISOString();
  const { propagation } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const servers = async (rt: Runtime): Promise<ServerStatus[]> => {
    if (!propagation) {
      return [{ name: rt.config.server.name, self: true, lastHeartbeat: new Date().toISOString(), responding: true, lag: 0, held: false }];
    }
    return (await propagation.servers()).map((s) => ({ ...s, lag: s.lag ?? 0 }));
  };
  /** Flushes applied here through every door (local, propagated, cold), newest first. */
  const flushes = () => deps.recentFlushes?.list() ?? [];

  // ------------------------------------------------------------------ open
  app.get('/healthz', (req, res) => text(req, res, 200, 'ok\n'));
  app.get('/readyz', (req, res) => {
    const ok = deps.ready ? deps.ready() : true;
    text(req, res, ok ? 200 : 503, ok ? 'ready\n' : 'not ready: Redis is unreachable\n');
  });
  app.get('/metrics', async (req, res) => send(req, res, 200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType));

  // ------------------------------------------------------------------ the token
  app.use('/admin', (req, res, next) => {
    const token = deps.getRuntime().config.server.adminToken;
    if (!token) return next();
    const url = new URL(req.originalUrl, 'http://admin');
    const fromQuery = url.pathname === '/admin' ? url.searchParams.get('token') : null;
    if (fromQuery !== null && sameSecret(fromQuery, token)) {
      res.writeHead(303, {
        location: '/admin',
        'set-cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/admin`,
      });
      res.end();
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const cookie = cookieToken(req);
    const safe = req.method === 'GET' || req.method === 'HEAD';
    const byBearer = bearer !== undefined && sameSecret(bearer, token);
    const byCookie = cookie !== undefined && sameSecret(cookie, token) && (safe || req.headers['x-farmgate-admin'] === '1');
    if (byBearer || byCookie) return next();
    res.setHeader('www-authenticate', 'Bearer realm="farmgate"');
    text(req, res, 401, 'admin token required: send Authorization: Bearer TOKEN, or open /admin?token=TOKEN\n');
  });
  // Bodies after the token check: a stranger's body is never read. Any content type but a form is JSON.
  const isForm = (req: IncomingMessage) => String(req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded');
  app.use('/admin/api', express.urlencoded({ extended: false, limit: BODY_LIMIT }), express.json({ limit: BODY_LIMIT, strict: false, type: (req) => !isForm(req) }));

  // ------------------------------------------------------------------ the page
  app.get(['/admin', '/admin/'], async (req, res) => {
    const rt = deps.getRuntime();
    const notices: string[] = [];
    const cold = propagation?.status().coldFlushes.at(-1);
    if (cold) notices.push(`Cold flush at ${cold.at}: ${cold.reason} (root .stat of ${cold.farms.join(', ')} touched).`);
    if (propagation && !propagation.ready()) notices.push('Redis is unreachable: flushes are kept in the local outbox and sent when it returns.');
    const html = renderAdminPage({
      serverName: rt.config.server.name,
      configFile: rt.config.file,
      propagation: rt.config.propagation.mode,
      startedAt,
      farms: await farmsStatus(rt, deps.metrics),
      servers: await servers(rt),
      flushes: flushes(),
      notices,
    });
    send(req, res, 200, html, 'text/html; charset=utf-8');
  });

  // ------------------------------------------------------------------ the API
  app.get('/admin/api/farms', async (req, res) => json(req, res, 200, { farms: await farmsStatus(deps.getRuntime(), deps.metrics) }));
  app.get('/admin/api/flushes', (req, res) => json(req, res, 200, { flushes: flushes() }));
  app.get('/admin/api/servers', async (req, res) => {
    const rt = deps.getRuntime();
    json(req, res, 200, { self: rt.config.server.name, servers: await servers(rt) });
  });
  app.get('/admin/api/propagation', (req, res) => json(req, res, 200, propagation ? { mode: 'redis', ...propagation.status() } : { mode: 'off' }));
  app.get('/admin/api/explain', async (req, res) => {
    const query = Object.fromEntries(new URL(req.originalUrl, 'http://admin').searchParams);
    json(req, res, 200, await explain(deps.getRuntime(), query));
  });
  app.post('/admin/api/explain', async (req, res) => json(req, res, 200, await explain(deps.getRuntime(), input(req))));
  app.get('/admin/api/tags', (req, res) => json(req, res, 200, tagsLookup(deps.getRuntime(), Object.fromEntries(new URL(req.originalUrl, 'http://admin').searchParams))));
  app.post('/admin/api/tags', (req, res) => json(req, res, 200, tagsLookup(deps.getRuntime(), input(req))));
  app.post('/admin/api/flush', async (req, res) => {
    if (!deps.runFlush) return json(req, res, 503, { error: 'flushing is not available here' });
    json(req, res, 200, await flushFromAdmin(deps.runFlush, deps.getRuntime(), input(req)));
  });
  app.all('/admin/api/flush', onlyPost);

  // Hold and release (contract section 5): this server, or any server relayed through Redis.
  const off = (req: Request, res: Response) => json(req, res, 409, { error: 'propagation is off (propagation.mode: off)' });
  for (const op of ['hold', 'release'] as const) {
    app.post(`/admin/api/${op}`, async (req, res) => {
      if (!propagation) return off(req, res);
      await (op === 'hold' ? propagation.hold() : propagation.release());
      json(req, res, 200, { server: propagation.status().server, op, held: propagation.status().held });
    });
    app.post(`/admin/api/servers/:name/${op}`, async (req, res) => {
      if (!propagation) return off(req, res);
      const target = String(req.params.name);
      const how = await propagation.control(target, op);
      json(req, res, how === 'done' ? 200 : 202, { server: target, op, relayed: how === 'relayed' });
    });
    app.all([`/admin/api/${op}`, `/admin/api/servers/:name/${op}`], onlyPost);
  }

  app.use((req, res) => text(req, res, 404, 'not found\n'));

  // Express 5 hands rejected async handlers here (expressjs.com/en/guide/error-handling).
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toAdminError(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    json(req, res, e.status, { error: e.message, code: e.code });
  });

  return (req, res) => app(req, res);
}

/**
 * Errors to answers: AppErrors as they are; a body the parser refused (too large, not JSON) is
 * bad admin input; a failed Redis call behind hold/release/servers is the service being away.
 */
function toAdminError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; message?: string };
  if (typeof e.type === 'string' && e.status !== undefined && e.status < 500) {
    return new AppError('FG_ADMIN_BAD_INPUT', e.type === 'entity.too.large' ? 'admin request body too large' : 'expected a JSON object or a form', { cause: err });
  }
  return new AppError('FG_ADMIN_UNAVAILABLE', e.message ?? String(err), { cause: err });
}
