/**
 * A web farm for tests: farmgate servers in-process, each with its own temp folder (config,
 * docroots, stateDir), all on one real redis-server. A server can be stopped and started
 * again on the same folder, as after a restart.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config/index.js';
import { createApp, type App } from '../src/http/app.js';
import { startServers, type Listening } from '../src/http/server.js';
import { silentLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import type { PropagationTuning } from '../src/propagation/index.js';
import { request } from 'undici';

export const SECRET = 'web-farm-test-secret-0123456789';

/** Short timings so the tests stay fast; failures retry twice, 20 then 40 ms apart. */
export const FAST: PropagationTuning = { heartbeatMs: 200, blockMs: 500, retryDelaysMs: [20, 40], joinTimeoutMs: 5000 };

export interface FarmServer {
  readonly name: string;
  readonly dir: string;
  readonly running: boolean;
  readonly app: App;
  readonly url: string;
  readonly adminUrl: string;
  readonly config: Config;
  docroot(farm?: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops (if running) and removes the folder. */
  destroy(): Promise<void>;
}

export function farmYaml(name: string, redisUrl: string, stream: string, retentionMs = 86_400_000): string {
  return `server:
  listen: "127.0.0.1:0"
  admin: "127.0.0.1:0"
  name: ${name}
  stateDir: ./state
flush:
  allowedClients: ["127.0.0.1", "::1"]
farms:
  - name: site-a
    virtualhosts: ["site-a.local"]
    docroot: ./cache/site-a
    renders:
      - url: http://127.0.0.1:9
    cache:
      statfileslevel: 3
    flushRoutes: ["/content/site-a/**", "/content/dam/**"]
  - name: site-b
    virtualhosts: ["site-b.local"]
    docroot: ./cache/site-b
    renders:
      - url: http://127.0.0.1:9
    cache:
      statfileslevel: 3
    flushRoutes: ["/content/site-b/**", "/content/dam/**"]
propagation:
  mode: redis
  redis:
    url: ${redisUrl}
    stream: ${stream}
    retentionMs: ${retentionMs}
  secret: ${SECRET}
`;
}

export async function farmServer(name: string, redisUrl: string, opts: { stream: string; tuning?: PropagationTuning; retentionMs?: number; extraYaml?: string }): Promise<FarmServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `farmgate-${name}-`));
  const file = path.join(dir, 'farmgate.yaml');
  await fs.writeFile(file, farmYaml(name, redisUrl, opts.stream, opts.retentionMs) + (opts.extraYaml ?? ''));
  let app: App | undefined;
  let servers: Listening | undefined;
  let config: Config | undefined;
  const self: FarmServer = {
    name,
    dir,
    get running() {
      return app !== undefined;
    },
    get app() {
      return app!;
    },
    get url() {
      return servers!.publicUrl;
    },
    get adminUrl() {
      return servers!.adminUrl!;
    },
    get config() {
      return config!;
    },
    docroot: (farm = 'site-a') => path.join(dir, 'cache', farm),
    async start() {
      config = await loadConfig(file);
      app = await createApp({ config, log: silentLogger, metrics: createMetrics(), propagation: opts.tuning ?? FAST });
      servers = await startServers(app, config, { listen: '127.0.0.1:0', admin: '127.0.0.1:0' });
    },
    async stop() {
      if (!app) return;
      await servers!.close();
      await app.close();
      app = undefined;
      servers = undefined;
    },
    async destroy() {
      await self.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  await self.start();
  return self;
}

/** A flush exactly as a flush agent sends it. */
export async function flush(server: FarmServer, handle: string, action = 'Activate'): Promise<number> {
  const res = await request(server.url + '/dispatcher/invalidate.cache', {
    method: 'POST',
    headers: { 'CQ-Action': action, 'CQ-Handle': handle, 'CQ-Path': handle, 'Content-Length': '0' },
  });
  await res.body.text();
  return res.statusCode;
}

export async function mtimeMs(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Polls `check` every 20 ms until it returns true, or fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Handles applied here from other servers, in the order they were applied. */
export function appliedHandles(server: FarmServer): string[] {
  return server.app.propagation!.history().filter((h) => h.result === 'applied').map((h) => h.handle!);
}

export async function adminJson(server: FarmServer, pathname: string, method = 'GET'): Promise<{ status: number; body: any }> {
  const res = await request(server.adminUrl + pathname, { method: method as 'GET' });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
}
