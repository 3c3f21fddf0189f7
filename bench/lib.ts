/**
 * Plumbing for bench/run.ts: child processes started and stopped by PID (never by name),
 * free loopback ports, nginx (static and in front of farmgate), farmgate as a child process,
 * wrk runs, docroot generation, a counting render, HTTP helpers, RSS.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, readdirSync, closeSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { binaryPath, freePort } from '../support/front-servers.js';

export { freePort };

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- tools

export interface Tools {
  wrk: string;
  nginx: string;
  taskset: string | undefined;
  redis: string | undefined;
  /** Apache httpd (the front scenario); undefined when not installed */
  apache?: string | undefined;
}

/** The binaries the benchmark needs; throws with the apt-get line when one is missing. */
export function findTools(): Tools {
  const wrk = binaryPath('wrk');
  const nginx = binaryPath('nginx');
  const missing = [!wrk && 'wrk', !nginx && 'nginx'].filter(Boolean) as string[];
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(' and ')}: install with\n  sudo apt-get install -y ${missing.join(' ')}\n(npm run bench installs nothing itself)`);
  }
  return { wrk: wrk!, nginx: nginx!, taskset: binaryPath('taskset'), redis: binaryPath('redis-server'), apache: binaryPath('apache2') ?? binaryPath('httpd') };
}

export function versions(tools: Tools): { nginx: string; wrk: string } {
  const n = spawnSyncText(tools.nginx, ['-v']);
  const w = spawnSyncText(tools.wrk, ['-v']);
  return { nginx: (/nginx\/[\d.]+/.exec(n) ?? ['nginx'])[0], wrk: (/wrk [^\s]+/.exec(w) ?? ['wrk'])[0] };
}

function spawnSyncText(file: string, args: string[]): string {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

// ---------------------------------------------------------------- processes

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) killTree(c.pid, 'SIGKILL');
});

/** PIDs of the descendants of `pid` (Linux /proc). */
export function descendants(pid: number): number[] {
  const kids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(after[1]) === pid) kids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return kids.flatMap((k) => [...descendants(k), k]);
}

function killTree(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  for (const p of [...descendants(pid), pid]) {
    try {
      process.kill(p, signal);
    } catch {
      /* gone */
    }
  }
}

export interface Proc {
  readonly pid: number;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, SIGKILL after 3 s (with its descendants, by PID). */
  stop(): Promise<void>;
  exited: Promise<void>;
}

export function startProc(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; logFile?: string; cwd?: string } = {}): Proc {
  const fd = opts.logFile ? openSync(opts.logFile, 'a') : undefined;
  const child = spawn(file, args, {
    stdio: ['ignore', fd ?? 'pipe', fd ?? 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? repoRoot,
  });
  if (fd !== undefined) closeSync(fd);
  running.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    child,
    output: () => out,
    exited,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const kids = descendants(child.pid!);
          try {
            process.kill(child.pid!, 'SIGTERM');
          } catch {
            /* gone */
          }
          const t = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
          if (!t) {
            for (const k of [child.pid!, ...kids]) {
              try {
                process.kill(k, 'SIGKILL');
              } catch {
                /* gone */
              }
            }
            await exited;
          }
        }
        running.delete(child);
      })();
      return stopping;
    },
  };
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function waitForPort(port: number, proc: Proc, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${what} exited (${proc.child.exitCode}):\n${proc.output()}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  await proc.stop();
  throw new Error(`${what} did not listen on ${port} within ${ms} ms:\n${proc.output()}`);
}

/** Sets the CPU affinity of a process and all its threads and children (taskset -a -p). */
export function pin(tools: Tools, pid: number, cpus: string): void {
  if (!tools.taskset) return;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      execFileSync(tools.taskset, ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
}

/** Peak (VmHWM) and current (VmRSS) resident set of a process, bytes. */
export function rss(pid: number): { peak: number; now: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s) ?? [0, 0])[1]) * 1024;
  return { peak: kb('VmHWM'), now: kb('VmRSS') };
}

/** Resets the peak RSS counter (VmHWM) of a process (Linux: write 5 to clear_refs). */
export async function resetPeak(pid: number): Promise<void> {
  await fs.writeFile(`/proc/${pid}/clear_refs`, '5').catch(() => {});
}

// ---------------------------------------------------------------- folders and docroots

export async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  // nginx started as root runs its workers as nobody: they must reach the docroots.
  await fs.chmod(dir, 0o755);
  return dir;
}

/** Writes files (with `.h` sidecars when `headers`) and returns their URL paths. */
export async function writePages(
  docroot: string,
  pages: { path: string; size: number }[],
  headers: [string, string][] | undefined,
): Promise<string[]> {
  const bodies = new Map<number, Buffer>();
  const body = (size: number) => {
    let b = bodies.get(size);
    if (!b) {
      const unit = '<p>farmgate benchmark page, the quick brown fox jumps over the lazy dog.</p>\n';
      b = Buffer.from(('<!doctype html><html><body>\n' + unit.repeat(Math.ceil(size / unit.length))).slice(0, size));
      bodies.set(size, b);
    }
    return b;
  };
  const dirs = new Set(pages.map((p) => path.dirname(p.path)));
  for (const d of dirs) await fs.mkdir(path.join(docroot, d), { recursive: true });
  const h = headers ? JSON.stringify({ v: 1, headers }) : undefined;
  const queue = [...pages];
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let p = queue.pop(); p; p = queue.pop()) {
        const abs = path.join(docroot, p.path);
        await fs.writeFile(abs, body(p.size));
        if (h) await fs.writeFile(abs + '.h', h);
      }
    }),
  );
  return pages.map((p) => p.path);
}

export async function writeLines(file: string, lines: string[]): Promise<void> {
  await fs.writeFile(file, lines.join('\n') + '\n');
}

// ---------------------------------------------------------------- nginx

export interface Nginx {
  readonly port: number;
  readonly url: string;
  readonly proc: Proc;
  stop(): Promise<void>;
}

const TEMP_PATHS = (dir: string) => `
    client_body_temp_path ${dir}/tmp/client_body;
    proxy_temp_path       ${dir}/tmp/proxy;
    fastcgi_temp_path     ${dir}/tmp/fastcgi;
    uwsgi_temp_path       ${dir}/tmp/uwsgi;
    scgi_temp_path        ${dir}/tmp/scgi;`;

export async function launchNginx(tools: Tools, dir: string, port: number, mainConf: string): Promise<Nginx> {
  const errorLog = path.join(dir, 'logs', 'error.log');
  const base = ['-p', dir, '-c', mainConf, '-e', errorLog];
  try {
    execFileSync(tools.nginx, [...base, '-t'], { stdio: 'pipe', timeout: 10_000 });
  } catch (err) {
    throw new Error(`nginx -t failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}\n${await fs.readFile(mainConf, 'utf8')}`);
  }
  const proc = startProc(tools.nginx, [...base, '-g', 'daemon off;']);
  await waitForPort(port, proc, 'nginx');
  return { port, url: `http://127.0.0.1:${port}`, proc, stop: () => proc.stop() };
}

export async function nginxDir(prefix: string): Promise<string> {
  const dir = await tempDir(prefix);
  await fs.mkdir(path.join(dir, 'logs'));
  await fs.mkdir(path.join(dir, 'tmp'));
  return dir;
}

/** nginx serving a docroot as plain static files: sendfile, open_file_cache, no access log. */
export async function startNginxStatic(tools: Tools, docroot: string, workers: number): Promise<Nginx> {
  const dir = await nginxDir('fg-bench-nginx-static-');
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  await fs.writeFile(
    conf,
    `worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {${TEMP_PATHS(dir)}
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    open_file_cache max=20000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_errors on;
    server {
        listen 127.0.0.1:${port} backlog=4096;
        server_tokens off;
        root ${docroot};
        location / { }
    }
}
`,
  );
  return launchNginx(tools, dir, port, conf);
}

// ---------------------------------------------------------------- farmgate

export interface Farmgate {
  readonly port: number;
  readonly url: string;
  readonly proc: Proc;
  stop(): Promise<void>;
}

/**
 * The node flags the `farmgate` command runs with: those on the CLI's `#!/usr/bin/env -S node …`
 * line (src/cli/index.ts), so the benchmark measures farmgate as the command starts it.
 */
export function cliNodeArgs(cli: string): string[] {
  const first = readFileSync(cli, 'utf8').split('\n', 1)[0] ?? '';
  return /^#!\S*env -S node((?: --\S+)*)\s*$/.exec(first)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/** `node [the CLI's flags] CLI serve --config FILE` (CLI: the compiled dist/cli/index.js) as a child, listening on `port`. */
export async function startFarmgate(cli: string, configFile: string, port: number, opts: { logLevel?: string; logFile: string; nodeArgs?: string[] }): Promise<Farmgate> {
  const proc = startProc(process.execPath, [...cliNodeArgs(cli), ...(opts.nodeArgs ?? []), cli, 'serve', '--config', configFile], {
    env: { ...process.env, FARMGATE_LOG_LEVEL: opts.logLevel ?? 'warn' },
    logFile: opts.logFile,
  });
  await waitForPort(port, proc, `farmgate (${configFile})`);
  return { port, url: `http://127.0.0.1:${port}`, proc, stop: () => proc.stop() };
}

// ---------------------------------------------------------------- wrk

export interface WrkResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  non2xx: number;
  bytes: number;
}

export interface WrkOptions {
  url: string;
  connections: number;
  threads?: number;
  durationS: number;
  host?: string;
  pathsFile: string;
  mode?: 'random' | 'seq';
  /** seq mode: responses per thread before it stops */
  share?: number;
  /** taskset CPU list for wrk */
  cpus?: string;
}

export interface WrkRun {
  readonly proc: Proc;
  /** SIGINT: wrk stops and prints its statistics. */
  interrupt(): void;
  result: Promise<WrkResult>;
}

export function startWrk(tools: Tools, o: WrkOptions): WrkRun {
  const threads = o.threads ?? Math.min(2, os.cpus().length);
  const args = [
    '-t', String(threads),
    '-c', String(Math.max(o.connections, threads)),
    '-d', `${o.durationS}s`,
    '--timeout', '10s',
    ...(o.host ? ['-H', `Host: ${o.host}`] : []),
    '-s', path.join(repoRoot, 'bench/wrk/paths.lua'),
    o.url,
    '--', o.pathsFile, o.mode ?? 'random', String(threads), String(o.share ?? 0),
  ];
  const proc = o.cpus && tools.taskset ? startProc(tools.taskset, ['-c', o.cpus, tools.wrk, ...args]) : startProc(tools.wrk, args);
  if (o.mode === 'seq') {
    const timer = setInterval(() => {
      if ((proc.output().match(/WRKSEQDONE/g) ?? []).length >= threads) {
        clearInterval(timer);
        try {
          process.kill(proc.pid, 'SIGINT');
        } catch {
          /* gone */
        }
      }
    }, 50);
    void proc.exited.then(() => clearInterval(timer));
  }
  const result = (async () => {
    const bound = Promise.race([proc.exited, sleep((o.durationS + 30) * 1000).then(() => proc.stop())]);
    await bound;
    const out = proc.output();
    const m = /WRKJSON (\{.*\})/.exec(out);
    if (!m) throw new Error(`wrk printed no result:\n${out}`);
    const j = JSON.parse(m[1]!) as Record<string, number>;
    const secs = j.duration_us! / 1e6;
    const non2xx = Number((/Non-2xx or 3xx responses: (\d+)/.exec(out) ?? [0, 0])[1]);
    return {
      requests: j.requests!,
      rps: j.requests! / secs,
      p50Ms: j.p50_us! / 1000,
      p90Ms: j.p90_us! / 1000,
      p99Ms: j.p99_us! / 1000,
      maxMs: j.max_us! / 1000,
      errors: j.connect! + j.read! + j.write! + j.timeout!,
      non2xx,
      bytes: j.bytes!,
    };
  })();
  return {
    proc,
    interrupt: () => {
      try {
        process.kill(proc.pid, 'SIGINT');
        // taskset execs wrk, so the PID is wrk's own.
      } catch {
        /* gone */
      }
    },
    result,
  };
}

export function runWrk(tools: Tools, o: WrkOptions): Promise<WrkResult> {
  return startWrk(tools, o).result;
}

// ---------------------------------------------------------------- a counting render

export interface BenchRender {
  readonly url: string;
  readonly port: number;
  /** requests per path */
  readonly hits: Map<string, number>;
  total: number;
  delayMs: number;
  close(): Promise<void>;
}

export async function startBenchRender(bodySize = 8192): Promise<BenchRender> {
  const body = Buffer.alloc(bodySize, 'x');
  const state = { total: 0, delayMs: 0 };
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    hits.set(p, (hits.get(p) ?? 0) + 1);
    state.total++;
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
      res.end(body);
    };
    if (state.delayMs > 0) setTimeout(answer, state.delayMs);
    else answer();
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', 4096, r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    get total() {
      return state.total;
    },
    set total(v: number) {
      state.total = v;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v: number) {
      state.delayMs = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------- HTTP

export interface Timed {
  status: number;
  ms: number;
  headers: http.IncomingHttpHeaders;
}

export function timedRequest(
  agent: http.Agent | false,
  port: number,
  pathname: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<Timed> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, headers: res.headers }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout ${pathname}`)));
    req.on('error', reject);
    req.end();
  });
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Runs `n` tasks with at most `concurrency` at once. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}
