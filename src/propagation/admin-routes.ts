/**
 * The propagation part of the admin API (contract sections 5 and 6), mounted by
 * http/admin.ts behind its bearer-token check:
 * - `GET  /admin/api/servers`                      every registered server: heartbeat, responding, lag, held, cold flushes, failed events
 * - `GET  /admin/api/propagation`                  this server's propagation status
 * - `POST /admin/api/hold`, `/admin/api/release`   this server
 * - `POST /admin/api/servers/{name}/hold|release`  any server, relayed through Redis
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Propagation } from './index.js';

/** Handles a propagation route; false when the path is not one of ours. */
export function handlePropagationAdmin(req: IncomingMessage, res: ServerResponse, path: string, propagation: Propagation | undefined): boolean {
  const method = req.method ?? 'GET';
  const json = (status: number, body: unknown) => {
    const text = JSON.stringify(body, null, 2) + '\n';
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(method === 'HEAD' ? undefined : text);
  };
  const fail = (err: unknown) => json(503, { error: (err as Error).message });
  const off = () => json(409, { error: 'propagation is off (propagation.mode: off)' });
  const onlyPost = () => {
    res.setHeader('allow', 'POST');
    json(405, { error: 'use POST' });
  };

  if (path === '/admin/api/servers') {
    if (!propagation) {
      json(200, { servers: [] });
      return true;
    }
    propagation.servers().then((servers) => json(200, { self: propagation.status().server, servers }), fail);
    return true;
  }
  if (path === '/admin/api/propagation') {
    if (!propagation) json(200, { mode: 'off' });
    else json(200, { mode: 'redis', ...propagation.status() });
    return true;
  }
  const own = /^\/admin\/api\/(hold|release)$/.exec(path);
  const relayed = /^\/admin\/api\/servers\/([^/]+)\/(hold|release)$/.exec(path);
  if (!own && !relayed) return false;
  if (method !== 'POST') {
    onlyPost();
    return true;
  }
  if (!propagation) {
    off();
    return true;
  }
  if (own) {
    const op = own[1] as 'hold' | 'release';
    (op === 'hold' ? propagation.hold() : propagation.release()).then(
      () => json(200, { server: propagation.status().server, op, held: propagation.status().held }),
      fail,
    );
    return true;
  }
  let target: string;
  try {
    target = decodeURIComponent(relayed![1]!);
  } catch {
    json(400, { error: 'bad server name' });
    return true;
  }
  const op = relayed![2] as 'hold' | 'release';
  propagation.control(target, op).then(
    (how) => json(how === 'done' ? 200 : 202, { server: target, op, relayed: how === 'relayed' }),
    fail,
  );
  return true;
}
