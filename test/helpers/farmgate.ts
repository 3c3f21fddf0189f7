/**
 * Starts farmgate in-process on 127.0.0.1:0 with temp docroots, from a YAML config written to
 * a temp folder (so relative docroots and line numbers work as for users).
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createApp, type App } from '../../src/http/app.js';
import { startServers, type Listening } from '../../src/http/server.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { request as undiciRequest } from 'undici';

export interface TestRequestInit {
  method?: string;
  host?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  text(): Promise<string>;
  buffer(): Promise<Buffer>;
}

/**
 * A request whose path and headers go on the wire exactly as given (no URL normalisation, so
 * `%2e%2e` and `..` reach the server), through node:http on a fresh connection.
 */
export function rawRequest(
  baseUrl: string,
  rawPath: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP request with full control of the headers (Host included), on a fresh connection. */
export async function httpRequest(url: string, init: TestRequestInit = {}): Promise<TestResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.host) headers.host = init.host;
  const res = await undiciRequest(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers,
    body: init.body ?? null,
  });
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (Array.isArray(v)) v.forEach((x) => h.append(k, x));
    else if (v !== undefined) h.set(k, v);
  }
  let body: Promise<Buffer> | undefined;
  const read = () => (body ??= res.body.arrayBuffer().then((b) => Buffer.from(b)));
  return {
    status: res.statusCode,
    headers: h,
    text: async () => (await read()).toString('utf8'),
    buffer: read,
  };
}

export interface TestFarmgate {
  readonly url: string;
  readonly adminUrl: string | undefined;
  readonly dir: string;
  readonly config: Config;
  readonly app: App;
  readonly servers: Listening;
  docroot(farm: string): string;
  /** A request to the public listener with a Host header (fetch() cannot set Host). */
  request(pathname: string, init?: TestRequestInit): Promise<TestResponse>;
  close(): Promise<void>;
}

export async function tempDir(prefix = 'farmgate-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Writes `yaml` to DIR/farmgate.yaml (DIR a new temp folder) and starts farmgate on it. */
export async function startFarmgate(
  yaml: string,
  opts: { log?: Logger; admin?: boolean; dir?: string; /** The app's clock (test/helpers/clock.ts). */ now?: () => number } = {},
): Promise<TestFarmgate> {
  const dir = opts.dir ?? (await tempDir());
  const file = path.join(dir, 'farmgate.yaml');
  await fs.writeFile(file, yaml);
  const config = await loadConfig(file);
  const app = await createApp({ config, log: opts.log ?? silentLogger, metrics: createMetrics({ defaultMetrics: true }), ...(opts.now ? { now: opts.now } : {}) });
  const servers = await startServers(app, config, { listen: '127.0.0.1:0', admin: opts.admin ? '127.0.0.1:0' : null });
  return {
    url: servers.publicUrl,
    adminUrl: servers.adminUrl,
    dir,
    config,
    app,
    servers,
    docroot: (farm) => config.farms.find((f) => f.name === farm)!.docroot,
    request: (pathname, init = {}) => httpRequest(servers.publicUrl + pathname, init),
    async close() {
      await servers.close();
      await app.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** A one-farm config in YAML, with overridable cache keys. */
export function oneFarmYaml(renderUrl: string, cache: Record<string, unknown> = {}, extra = ''): string {
  const cacheLines = Object.entries({ statfileslevel: 2, statCheckIntervalMs: 100, ...cache })
    .map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return `server:
  listen: "127.0.0.1:0"
flush:
  allowedClients: ["127.0.0.1", "::1"]
farms:
  - name: site
    virtualhosts: ["site.local"]
    docroot: ./docroot
    renders:
      - url: ${renderUrl}
        timeoutMs: 2000
    cache:
${cacheLines}
    flushRoutes: ["/content/**"]
${extra}`;
}

/** The headers a response is compared on: all but the connection's own and the server's name. */
export function comparableHeaders(h: Headers): Record<string, string> {
  const skip = new Set(['date', 'server', 'connection', 'keep-alive', 'transfer-encoding']);
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    if (!skip.has(k)) out[k] = v;
  });
  return out;
}

/** A response as the conformance and fast-path tests compare it. */
export interface ComparableAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A request (fresh connection), answered as status, comparableHeaders() and body text. */
export async function comparableAnswer(url: string, init: TestRequestInit = {}): Promise<ComparableAnswer> {
  const res = await httpRequest(url, init);
  return { status: res.status, headers: comparableHeaders(res.headers), body: await res.text() };
}
