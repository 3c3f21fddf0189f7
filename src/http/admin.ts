/**
 * The admin listener (contract section 6): /healthz, /readyz, /metrics, the /admin page and
 * /admin/api/... (farms, servers, flushes, explain, flush, hold, release).
 *
 * With `server.adminToken`, /admin and /admin/api need `Authorization: Bearer TOKEN`, or the
 * cookie a browser gets by opening `/admin?token=TOKEN` once. A POST authorized by that cookie
 * must also carry `X-Farmgate-Admin: 1` (the page's script sends it; another site cannot).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import type { RecentFlushes } from '../flush/recent.js';
import type { RunFlush } from '../flush/run-flush.js';
import type { Metrics } from '../metrics.js';
import { handlePropagationAdmin } from '../propagation/admin-routes.js';
import type { Propagation } from '../propagation/index.js';
import type { Runtime } from '../runtime.js';
import { explain, farmsStatus, flushFromAdmin, readAdminInput, type ServerStatus } from './admin-api.js';
import { renderAdminPage } from './admin-page.js';

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

export function createAdminHandler(deps: AdminDeps) {
  const startedAt = new Date().toISOString();

  const servers = async (rt: Runtime): Promise<ServerStatus[]> => {
    if (!deps.propagation) {
      return [{ name: rt.config.server.name, self: true, lastHeartbeat: new Date().toISOString(), responding: true, lag: 0, held: false }];
    }
    return (await deps.propagation.servers()).map((s) => ({ ...s, lag: s.lag ?? 0 }));
  };

  /** Flushes applied here through every door (local, propagated, cold), newest first. */
  const flushes = () => deps.recentFlushes?.list() ?? [];

  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const send = (status: number, body: string, type: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : body);
    };
    const text = (status: number, body: string) => send(status, body, 'text/plain; charset=utf-8');
    const json = (status: number, body: unknown) => send(status, JSON.stringify(body, null, 2) + '\n', 'application/json; charset=utf-8');
    const fail = (err: unknown) => {
      const e = err instanceof AppError ? err : new AppError('FG_FLUSH_IO', (err as Error).message);
      json(e.status, { error: e.message, code: e.code });
    };

    const rt = deps.getRuntime();
    const token = rt.config.server.adminToken;
    const protectedPath = path === '/admin' || path.startsWith('/admin/');
    if (protectedPath && token) {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const fromQuery = path === '/admin' ? url.searchParams.get('token') : null;
      if (fromQuery !== null && sameSecret(fromQuery, token)) {
        res.writeHead(303, {
          location: '/admin',
          'set-cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/admin`,
        });
        res.end();
        return;
      }
      const cookie = cookieToken(req);
      const byBearer = bearer !== undefined && sameSecret(bearer, token);
      const byCookie = cookie !== undefined && sameSecret(cookie, token) && (method === 'GET' || method === 'HEAD' || req.headers['x-farmgate-admin'] === '1');
      if (!byBearer && !byCookie) {
        res.setHeader('www-authenticate', 'Bearer realm="farmgate"');
        return text(401, 'admin token required: send Authorization: Bearer TOKEN, or open /admin?token=TOKEN\n');
      }
    }

    if (path === '/healthz') return text(200, 'ok\n');
    if (path === '/readyz') {
      const ok = deps.ready ? deps.ready() : true;
      return text(ok ? 200 : 503, ok ? 'ready\n' : 'not ready: Redis is unreachable\n');
    }
    if (path === '/metrics') {
      deps.metrics.registry.metrics().then((body) => send(200, body, deps.metrics.registry.contentType), fail);
      return;
    }
    if (path === '/admin' || path === '/admin/') {
      void (async () => {
        const notices: string[] = [];
        const status = deps.propagation?.status();
        const cold = status?.coldFlushes.at(-1);
        if (cold) notices.push(`Cold flush at ${cold.at}: ${cold.reason} (root .stat of ${cold.farms.join(', ')} touched).`);
        if (deps.propagation && !deps.propagation.ready()) notices.push('Redis is unreachable: flushes are kept in the local outbox and sent when it returns.');
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
        send(200, html, 'text/html; charset=utf-8');
      })().catch(fail);
      return;
    }
    if (path === '/admin/api/servers' && !deps.propagation) {
      void servers(rt).then((list) => json(200, { self: rt.config.server.name, servers: list }), fail);
      return;
    }
    if (path.startsWith('/admin/api/') && handlePropagationAdmin(req, res, path, deps.propagation)) return;
    if (path === '/admin/api/farms') {
      void farmsStatus(rt, deps.metrics).then((farms) => json(200, { farms }), fail);
      return;
    }
    if (path === '/admin/api/flushes') return json(200, { flushes: flushes() });
    if (path === '/admin/api/explain') {
      const input = method === 'POST' ? readAdminInput(req) : Promise.resolve(Object.fromEntries(url.searchParams));
      void input.then((i) => explain(rt, i)).then((report) => json(200, report), fail);
      return;
    }
    if (path === '/admin/api/flush') {
      if (method !== 'POST') {
        res.setHeader('allow', 'POST');
        return json(405, { error: 'use POST' });
      }
      if (!deps.runFlush) return json(503, { error: 'flushing is not available here' });
      const runFlush = deps.runFlush;
      void readAdminInput(req)
        .then((i) => flushFromAdmin(runFlush, rt, i))
        .then((r) => json(200, r), fail);
      return;
    }
    text(404, 'not found\n');
  };
}
