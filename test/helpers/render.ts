/**
 * A real HTTP render on 127.0.0.1:0 for tests: counts requests per path and answers with
 * whatever the test routes say (status, headers, body, delays, drips, resets).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RenderReply {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Wait before the response headers. */
  delayMs?: number;
  /** Send the body in `chunks` pieces, `dripMs` apart. */
  chunks?: number;
  dripMs?: number;
  /** Destroy the socket after this many body bytes. */
  resetAfterBytes?: number;
  /** After the first chunk, wait for this before sending the rest (a render caught mid-body). */
  hold?: Promise<void>;
}

export type Route = (req: http.IncomingMessage, n: number) => RenderReply | Promise<RenderReply>;

export interface TestRender {
  readonly url: string;
  readonly port: number;
  /** Requests seen per path (without query). */
  readonly hits: Map<string, number>;
  /** Every request's headers, in order. */
  readonly requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  count(path: string): number;
  route(path: string, r: Route | RenderReply): void;
  /** Resolves once `n` requests (all paths) have arrived: tests wait on this, not on time. */
  arrived(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRender(defaultRoute?: Route): Promise<TestRender> {
  const hits = new Map<string, number>();
  const routes = new Map<string, Route>();
  const requests: TestRender['requests'] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const fallback: Route =
    defaultRoute ??
    ((req, n) => ({
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<html>${req.url} render ${n}</html>`,
    }));
  const server = http.createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    for (const w of waiters.filter((x) => x.n <= requests.length)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    for await (const _ of req) void _;
    const reply = await (routes.get(path) ?? fallback)(req, n);
    if (reply.delayMs) await sleep(reply.delayMs);
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : (reply.body ?? Buffer.alloc(0));
    const headers = { 'content-length': String(body.length), ...reply.headers };
    res.writeHead(reply.status ?? 200, headers);
    if (req.method === 'HEAD') return res.end();
    const pieces = reply.chunks ?? 1;
    const size = Math.ceil(body.length / pieces) || 1;
    let sent = 0;
    for (let i = 0; i < body.length; i += size) {
      const chunk = body.subarray(i, i + size);
      if (reply.resetAfterBytes !== undefined && sent + chunk.length > reply.resetAfterBytes) {
        res.write(chunk.subarray(0, Math.max(0, reply.resetAfterBytes - sent)));
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      res.write(chunk);
      sent += chunk.length;
      if (reply.hold && i === 0) await reply.hold;
      if (reply.dripMs && i + size < body.length) await sleep(reply.dripMs);
    }
    res.end();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    requests,
    count: (p) => hits.get(p) ?? 0,
    route(p, r) {
      routes.set(p, typeof r === 'function' ? r : () => r);
    },
    arrived: (n) => (requests.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
