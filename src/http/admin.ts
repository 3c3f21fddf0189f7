/**
 * The admin listener (contract section 6): /healthz, /readyz, /metrics.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.js';
import { handlePropagationAdmin } from '../propagation/admin-routes.js';
import type { Propagation } from '../propagation/index.js';
import type { Runtime } from '../runtime.js';

export interface AdminDeps {
  readonly getRuntime: () => Runtime;
  readonly metrics: Metrics;
  /** Extra readiness checks (propagation: Redis reachable). */
  readonly ready?: () => boolean;
  /** Web farm propagation, when on: /admin/api/servers, hold and release. */
  readonly propagation?: Propagation;
}

export function createAdminHandler(deps: AdminDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const token = deps.getRuntime().config.server.adminToken;
    const protectedPath = path === '/admin' || path?.startsWith('/admin/');
    if (protectedPath && token && req.headers.authorization !== `Bearer ${token}`) {
      res.setHeader('www-authenticate', 'Bearer realm="farmgate"');
      return text(401, 'unauthorized\n');
    }
    if (path?.startsWith('/admin/api/') && handlePropagationAdmin(req, res, path, deps.propagation)) return;
    if (path === '/healthz') return text(200, 'ok\n');
    if (path === '/readyz') {
      const ok = deps.ready ? deps.ready() : true;
      return text(ok ? 200 : 503, ok ? 'ready\n' : 'not ready\n');
    }
    if (path === '/metrics') {
      deps.metrics.registry.metrics().then(
        (body) => text(200, body, deps.metrics.registry.contentType),
        (err: Error) => text(500, `metrics failed: ${err.message}\n`),
      );
      return;
    }
    text(404, 'not found\n');
  };
}
