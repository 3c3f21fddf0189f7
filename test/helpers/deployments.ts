/**
 * The three deployments the conformance suite (test/conformance/) runs against, the way a store
 * contract suite runs over every store:
 *
 *   direct  client → farmgate → render
 *   nginx   client → nginx (`farmgate front nginx`) → farmgate → render; fresh hits from nginx
 *   apache  client → Apache (`farmgate front apache`) → farmgate → render; fresh hits from Apache
 *
 * Every server is real, on a free loopback port, started by the test and stopped by PID.
 * FARMGATE_DEPLOYMENTS=direct,nginx limits a run to some of them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { rawRequest, startFarmgate, httpRequest, type TestFarmgate, type TestRequestInit, type TestResponse } from './farmgate.js';
import { hasBinary, startFront, type FrontServer } from '../../support/front-servers.js';
import { waitFor } from './wait.js';

export type DeploymentKind = 'direct' | 'nginx' | 'apache';

export const DEPLOYMENTS: readonly DeploymentKind[] = (() => {
  const all: DeploymentKind[] = ['direct', 'nginx', 'apache'];
  const only = process.env.FARMGATE_DEPLOYMENTS?.split(',').map((s) => s.trim());
  return only ? all.filter((k) => only.includes(k)) : all;
})();

export interface Deployment {
  readonly kind: DeploymentKind;
  /** where clients send requests */
  readonly url: string;
  /** the farmgate behind it (its docroots, app, metrics) */
  readonly fg: TestFarmgate;
  readonly front: FrontServer | undefined;
  /** a request with full control of the headers (Host included), on a fresh connection */
  request(pathname: string, init?: TestRequestInit): Promise<TestResponse>;
  /** a request whose path goes on the wire exactly as given */
  raw(rawPath: string, headers?: Record<string, string>, method?: string): ReturnType<typeof rawRequest>;
  docroot(farm: string): string;
  /** stops farmgate (the front, if any, keeps running) */
  stopFarmgate(): Promise<void>;
  close(): Promise<void>;
}

/** Starts farmgate from `yaml` and, for nginx/apache, the front `farmgate front` writes for it. */
export async function startDeployment(kind: DeploymentKind, yaml: string, opts: { admin?: boolean } = {}): Promise<Deployment> {
  if (kind !== 'direct') {
    const bin = kind === 'nginx' ? 'nginx' : 'apache2';
    if (!hasBinary(bin)) assert.fail(`${bin} is not installed: apt-get install ${kind === 'nginx' ? 'nginx libnginx-mod-http-lua' : 'apache2'} (.ci/run does)`);
  }
  const fg = await startFarmgate(yaml, opts.admin ? { admin: true } : {});
  // The front's workers (www-data) must reach the docroots below the temp folder.
  await fs.chmod(fg.dir, 0o755);
  let front: FrontServer | undefined;
  try {
    if (kind !== 'direct') {
      const { port } = new URL(fg.url);
      front = await startFront(kind, { config: fg.config, upstream: `127.0.0.1:${port}` });
    }
  } catch (err) {
    await fg.close();
    throw err;
  }
  const url = front?.url ?? fg.url;
  let farmgateStopped = false;
  return {
    kind,
    url,
    fg,
    front,
    request: (pathname, init = {}) => httpRequest(url + pathname, init),
    raw: (rawPath, headers = {}, method = 'GET') => rawRequest(url, rawPath, headers, method),
    docroot: (farm) => fg.docroot(farm),
    async stopFarmgate() {
      farmgateStopped = true;
      await fg.servers.close();
    },
    async close() {
      await front?.stop();
      if (farmgateStopped) {
        await fg.app.close();
        await fs.rm(fg.dir, { recursive: true, force: true });
      } else {
        await fg.close();
      }
    },
  };
}

/**
 * waitFor (./wait.js) that also hands back what the probe saw: for conditions another process
 * makes true (farmgate noticing a `.stat` within statCheckIntervalMs, a TTL passing).
 */
export async function until<T>(what: string, probe: () => Promise<T | false>, timeoutMs?: number): Promise<T> {
  let seen: T | false = false;
  await waitFor(what, async () => (seen = await probe()) !== false, timeoutMs);
  return seen as T;
}
