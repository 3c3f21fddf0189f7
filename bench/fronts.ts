/**
 * The front servers of the benchmark, each from the configuration users run:
 *
 * - nginx → farmgate: `farmgate front nginx --proxy-only` (every request proxied), optionally
 *   with the X-Accel-Redirect locations or a micro-cache added (bench/README.md);
 * - the nginx and Apache fronts: `farmgate front nginx|apache` (fresh hits answered by the
 *   server itself);
 * - Apache serving the docroot as plain static files, from the same generated main httpd.conf
 *   (same modules, MPM and keep-alive) with a plain DocumentRoot virtual host.
 *
 * For like-for-like ratios the generated configurations are run with their access log off and
 * a given number of workers (nginx worker_processes; Apache child processes), as the static
 * servers are. All on free loopback ports, stopped by PID.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../src/config/index.js';
import { generateFront, type Generated } from '../src/front/generate.js';
import { freePort, launchNginx, startProc, tempDir, waitForPort, type Nginx, type Proc, type Tools } from './lib.js';

export interface Server {
  readonly port: number;
  readonly url: string;
  readonly proc: Proc;
  stop(): Promise<void>;
}

/** A front measured without its C fast path is not the front users get: said on stderr. */
function sayIfLuaOnly(g: Generated): void {
  if (g.fastModule && 'skipped' in g.fastModule) process.stderr.write(`  (this front runs without its C fast path: ${g.fastModule.skipped})\n`);
}

/** Sets nginx's worker count and turns its access log off in a generated configuration. */
async function tuneNginx(dir: string, workers: number): Promise<void> {
  const main = path.join(dir, 'nginx.conf');
  await fs.writeFile(main, (await fs.readFile(main, 'utf8')).replace(/worker_processes auto;/, `worker_processes ${workers};`));
  const site = path.join(dir, 'farmgate.conf');
  await fs.writeFile(site, (await fs.readFile(site, 'utf8')).replace(/^\s*access_log \S+ farmgate[^;]*;/m, '    access_log off;'));
}

/** nginx → farmgate: every request proxied (`farmgate front nginx --proxy-only`). */
export async function startNginxProxy(
  tools: Tools,
  config: Config,
  farmgatePort: number,
  workers: number,
  accel?: { prefix: string; farms: { name: string; docroot: string }[] },
  microcacheS?: number,
): Promise<Nginx> {
  const dir = await tempDir('fg-bench-nginx-proxy-');
  const port = await freePort();
  await generateFront(config, { kind: 'nginx', out: dir, listen: `127.0.0.1:${port} backlog=4096`, source: 'bench', upstream: `127.0.0.1:${farmgatePort}`, proxyOnly: true });
  await tuneNginx(dir, workers);
  const site = path.join(dir, 'farmgate.conf');
  let text = await fs.readFile(site, 'utf8');
  if (accel) text = addAccel(text, accel);
  if (microcacheS) text = addMicrocache(text, dir, microcacheS);
  await fs.writeFile(site, text);
  return launchNginx(tools, dir, port, path.join(dir, 'nginx.conf'));
}

/** The nginx front (`farmgate front nginx`): fresh hits answered by nginx. */
export async function startNginxFarmgateFront(tools: Tools, config: Config, farmgatePort: number, workers: number): Promise<Nginx> {
  const dir = await tempDir('fg-bench-nginx-front-');
  const port = await freePort();
  sayIfLuaOnly(await generateFront(config, { kind: 'nginx', out: dir, listen: `127.0.0.1:${port} backlog=4096`, source: 'bench', upstream: `127.0.0.1:${farmgatePort}` }));
  await tuneNginx(dir, workers);
  return launchNginx(tools, dir, port, path.join(dir, 'nginx.conf'));
}

async function launchApache(tools: Tools, dir: string, port: number): Promise<Server> {
  if (!tools.apache) throw new Error('apache2 not installed: sudo apt-get install -y apache2');
  const args = ['-d', dir, '-f', path.join(dir, 'httpd.conf')];
  try {
    execFileSync(tools.apache, [...args, '-t'], { stdio: 'pipe', timeout: 10_000 });
  } catch (err) {
    throw new Error(`apache2 -t failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  const proc = startProc(tools.apache, [...args, '-DFOREGROUND'], { env: { ...process.env, LANG: 'C' } });
  await waitForPort(port, proc, 'apache');
  return { port, url: `http://127.0.0.1:${port}`, proc, stop: () => proc.stop() };
}

/**
 * Sets the number of Apache child processes (event MPM, 96 threads each: wrk's 64 connections
 * fit in one child, as they do in one nginx worker, with room: when every thread of a child is
 * busy, the event MPM closes idle keep-alive connections, which wrk counts as errors) and drops
 * the access log.
 */
async function tuneApache(dir: string, children: number): Promise<void> {
  const main = path.join(dir, 'httpd.conf');
  const threads = 96;
  const text = (await fs.readFile(main, 'utf8'))
    .replace(/^StartServers \d+$/m, `StartServers ${children}`)
    .replace(/^ServerLimit \d+$/m, `ServerLimit ${children}`)
    .replace(/^ThreadsPerChild \d+$/m, `ThreadLimit ${threads}\nThreadsPerChild ${threads}`)
    .replace(/^MaxRequestWorkers \d+$/m, `MaxRequestWorkers ${children * threads}`)
    // (a MinSpareThreads at MaxRequestWorkers makes the MPM think it is overloaded)
    .replace(/^MinSpareThreads \d+$/m, 'MinSpareThreads 8')
    .replace(/^MaxSpareThreads \d+$/m, `MaxSpareThreads ${children * threads}`);
  await fs.writeFile(main, text);
  const site = path.join(dir, 'farmgate.conf');
  await fs.writeFile(site, (await fs.readFile(site, 'utf8')).replace(/^\s*CustomLog .*$/m, ''));
}

/** The Apache front (`farmgate front apache`): fresh hits answered by Apache. */
export async function startApacheFarmgateFront(tools: Tools, config: Config, farmgatePort: number, children: number): Promise<Server> {
  const dir = await tempDir('fg-bench-apache-front-');
  const port = await freePort();
  sayIfLuaOnly(await generateFront(config, { kind: 'apache', out: dir, listen: `127.0.0.1:${port}`, source: 'bench', upstream: `127.0.0.1:${farmgatePort}` }));
  await tuneApache(dir, children);
  return launchApache(tools, dir, port);
}

/**
 * Apache serving a docroot as plain static files: the generated main configuration with a
 * virtual host that has only a DocumentRoot (sendfile, its usual ETag and Last-Modified).
 */
export async function startApacheStatic(tools: Tools, config: Config, docroot: string, children: number): Promise<Server> {
  const dir = await tempDir('fg-bench-apache-static-');
  const port = await freePort();
  await generateFront(config, { kind: 'apache', out: dir, listen: `127.0.0.1:${port}`, source: 'bench', upstream: '127.0.0.1:9', proxyOnly: true });
  await tuneApache(dir, children);
  await fs.writeFile(
    path.join(dir, 'farmgate.conf'),
    `<VirtualHost 127.0.0.1:${port}>
    ServerName static
    DocumentRoot "${docroot}"
    <Directory "${docroot}">
        Require all granted
        Options FollowSymLinks
        AllowOverride None
    </Directory>
</VirtualHost>
`,
  );
  return launchApache(tools, dir, port);
}

/**
 * An nginx micro-cache in front of farmgate: only farmgate's HITs are kept, for `seconds`
 * (Cache-Control/Expires of the page ignored), never for requests carrying authorization. A
 * flush then takes up to `seconds` to show, so it fits only farms whose gracePeriodMs is at
 * least that long (they already serve a flushed page that long).
 */
export function addMicrocache(site: string, dir: string, seconds: number): string {
  const head = `
proxy_cache_path ${dir}/microcache levels=1:2 keys_zone=farmgate_micro:16m max_size=256m inactive=60s use_temp_path=off;
map $upstream_http_x_cache $farmgate_not_hit { HIT 0; default 1; }
map $http_cookie $farmgate_auth_cookie { "~*(^|;)\\s*(login-token|authorization)=" 1; default 0; }
`;
  const loc = `    location / {
        proxy_cache farmgate_micro;
        proxy_cache_key $scheme$farmgate_host$request_uri;
        proxy_cache_valid 200 ${seconds}s;
        proxy_ignore_headers Cache-Control Expires;
        proxy_no_cache $farmgate_not_hit $http_authorization $farmgate_auth_cookie;
        proxy_cache_bypass $http_authorization $farmgate_auth_cookie;
        proxy_cache_lock on;
        proxy_pass http://farmgate$request_uri;
    }`;
  const re = /    location \/ \{\n(?:        [^\n]*\n)*?        proxy_pass http:\/\/farmgate\$request_uri;\n    \}/;
  if (!re.test(site)) throw new Error('addMicrocache: no plain "location /" in the site config');
  return head + site.replace(re, loc);
}

/** The X-Accel-Redirect setup (server.accelRedirect, bench/README.md), inserted into the proxy config. */
export function addAccel(site: string, accel: { prefix: string; farms: { name: string; docroot: string }[] }): string {
  const locations = accel.farms
    .map(
      (f) => `
    location ^~ ${accel.prefix}/${f.name}/ {
        internal;
        alias ${f.docroot.replace(/\/$/, '')}/;
        etag off;
        if_modified_since off;
        max_ranges 0;
        add_header X-Cache $upstream_http_x_cache;
        add_header ETag $upstream_http_etag;
        add_header Last-Modified $upstream_http_last_modified;
        error_page 404 = @farmgate_no_accel;
    }`,
    )
    .join('\n');
  const fallback = `
    location @farmgate_no_accel {
        proxy_set_header Host              $farmgate_host;
        proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host  $farmgate_host;
        proxy_pass http://farmgate$request_uri;
    }`;
  const marker = '    location / {';
  const xfh = '    proxy_set_header X-Forwarded-Host  $farmgate_host;';
  if (!site.includes(marker) || !site.includes(xfh)) throw new Error('addAccel: no "location /" in the site config');
  return site.replace(xfh, `${xfh}\n    proxy_set_header X-Farmgate-Accel  1;`).replace(marker, `${locations}\n${fallback}\n\n${marker}`);
}
