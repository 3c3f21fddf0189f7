/**
 * A real node:http server on 127.0.0.1:0 running the flush handler on a Runtime built with
 * createRuntime, temp docroots, and a log sink to assert on. Everything is closed by `close()`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { HotLayer } from '../../src/cache/hot-layer.js';
import type { Config } from '../../src/config/index.js';
import { createFlushHandler } from '../../src/flush/handler.js';
import { RecentFlushes } from '../../src/flush/recent.js';
import { createFlushRunner } from '../../src/flush/run-flush.js';
import type { FlushAppliedEvent } from '../../src/flush/types.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import type { Refetcher } from '../../src/flush/types.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface FlushServer {
  readonly url: string;
  readonly flushUrl: string;
  readonly rt: Runtime;
  readonly metrics: Metrics;
  readonly logs: LogLine[];
  readonly applied: FlushAppliedEvent[];
  close(): Promise<void>;
}

export interface FlushServerOptions {
  refetch?: Refetcher;
  onApplied?: (event: FlushAppliedEvent) => Promise<void>;
}

export const noRefetch: Refetcher = async (_rt, _farm, uri) => ({ uri, ok: false, error: 'no refetcher in this test' });

export async function startFlushServer(config: Config, opts: FlushServerOptions = {}): Promise<FlushServer> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const metrics = createMetrics();
  const rt = await createRuntime({ config, log, metrics, hot: new HotLayer(1 << 22, 1 << 20) });
  const applied: FlushAppliedEvent[] = [];
  const runFlush = createFlushRunner({
    refetch: opts.refetch ?? noRefetch,
    recent: new RecentFlushes(),
    publish: async (event) => {
      applied.push(event);
      await opts.onApplied?.(event);
    },
  });
  const handler = createFlushHandler({ getRuntime: () => rt, runFlush });
  const server: Server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (pathname === config.flush.path) {
      void handler(req, res);
      return;
    }
    res.statusCode = 404;
    res.end('not the flush path');
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    url,
    flushUrl: url + config.flush.path,
    rt,
    metrics,
    logs,
    applied,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rt.close();
    },
  };
}

/** Sends a flush with the agent's headers; `headers` override or add. */
export async function sendFlush(
  srv: FlushServer,
  headers: Record<string, string>,
  init: { method?: string; body?: string | ReadableStream<Uint8Array>; json?: boolean } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(srv.flushUrl, {
    method: init.method ?? 'POST',
    headers: {
      'Content-Type': 'application/octet-stream',
      ...(init.json ? { Accept: 'application/json' } : {}),
      ...headers,
    },
    ...(init.body !== undefined ? { body: init.body, duplex: 'half' } : {}),
  } as RequestInit);
  return { status: res.status, headers: res.headers, text: await res.text() };
}
