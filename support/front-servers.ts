// Real nginx and Apache httpd in front of a farmgate (or a stand-in) for end-to-end tests.
//
// Each server gets its own temp folder (config, logs, pid, temp files), listens on a free
// loopback port, is checked with `-t` before it starts, runs in the foreground as a child
// of the test process, and is stopped by its PID: never by name.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../src/config/index.js';
import { findExecutable } from '../src/front/build-module.js';
import { generateFront } from '../src/front/generate.js';

export interface FrontServer {
  kind: 'nginx' | 'apache';
  port: number;
  /** `http://127.0.0.1:PORT` (no trailing slash) */
  url: string;
  /** PID of the master (nginx) / parent (Apache) process */
  pid: number;
  /** the folder holding the generated configuration, logs and pid file; removed by stop() */
  dir: string;
  accessLog: string;
  errorLog: string;
  /** SIGTERM, then SIGKILL (also to its children, by PID) after 3 s; then removes dir. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const CHECK_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

/** A port that was free on 127.0.0.1 a moment ago (listen(0), close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: no port'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Full path of an executable found on PATH or in the sbin folders (apache2 lives in /usr/sbin). */
export const binaryPath = findExecutable;

/** Whether `name` is installed (so a test can fail with a clear message instead of skipping). */
export function hasBinary(name: string): boolean {
  return binaryPath(name) !== undefined;
}

// ---------------------------------------------------------------- process plumbing

const running = new Set<ChildProcess>();
process.once('exit', () => {
  // Last resort if a test run dies before its after() hooks: no server outlives the tests.
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      for (const pid of [...descendants(child.pid), child.pid]) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
  }
});

/** PIDs of the processes whose parent is `pid`, recursively (Linux /proc). */
function descendants(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces and parentheses
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(after[1]) === pid) children.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return children.flatMap((c) => [...descendants(c), c]);
}

function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: CHECK_TIMEOUT_MS, env: env ?? process.env }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.off('exit', onExit); resolve(false); }, ms);
    const onExit = (): void => { clearTimeout(timer); resolve(true); };
    child.once('exit', onExit);
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => { sock.destroy(); resolve(ok); };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

class StartError extends Error {
  constructor(message: string, readonly portInUse: boolean) {
    super(message);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    if (!(await exited(child, STOP_GRACE_MS))) {
      const kids = descendants(pid);
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      for (const k of kids) {
        try { process.kill(k, 'SIGKILL'); } catch { /* gone */ }
      }
      await exited(child, 2_000);
    }
  }
  running.delete(child);
}

interface Launch {
  kind: 'nginx' | 'apache';
  dir: string;
  port: number;
  binary: string;
  checkArgs: string[];
  runArgs: string[];
  env?: NodeJS.ProcessEnv;
  accessLog: string;
  errorLog: string;
  describe: () => Promise<string>;
}

async function launch(l: Launch): Promise<FrontServer> {
  const check = await run(l.binary, l.checkArgs, l.env);
  if (check.code !== 0) {
    throw new Error(`${l.binary} ${l.checkArgs.join(' ')} failed (exit ${String(check.code)}):\n${check.output}\n${await l.describe()}`);
  }

  const child = spawn(l.binary, l.runArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: l.env ?? process.env });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const deadline = Date.now() + START_TIMEOUT_MS;
  let ready = false;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await canConnect(l.port)) {
      // still ours? (another process could have taken the port between freePort and bind)
      ready = !(await exited(child, 100));
      break;
    }
    await Promise.race([new Promise((r) => setTimeout(r, 50)), spawnError]);
  }
  if (!ready) {
    await stopChild(child);
    let errorLog = '';
    try { errorLog = await readFile(l.errorLog, 'utf8'); } catch { /* none */ }
    const text = `${output}\n${errorLog}`;
    const portInUse = /Address already in use|could not bind|make_sock/i.test(text);
    throw new StartError(`${l.kind} did not start listening on 127.0.0.1:${l.port} within ${START_TIMEOUT_MS} ms ` +
      `(exit ${String(child.exitCode ?? child.signalCode)}):\n${text.trim()}`, portInUse);
  }

  let stopped: Promise<void> | undefined;
  return {
    kind: l.kind,
    port: l.port,
    url: `http://127.0.0.1:${l.port}`,
    pid: child.pid as number,
    dir: l.dir,
    accessLog: l.accessLog,
    errorLog: l.errorLog,
    stop(): Promise<void> {
      stopped ??= (async () => {
        await stopChild(child);
        await rm(l.dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** Up to 3 attempts, each with a fresh port and folder, when the port was taken meanwhile. */
async function withPortRetry(prepare: () => Promise<Launch>): Promise<FrontServer> {
  for (let attempt = 1; ; attempt++) {
    const l = await prepare();
    try {
      return await launch(l);
    } catch (err) {
      await rm(l.dir, { recursive: true, force: true });
      if (!(err instanceof StartError && err.portInUse && attempt < 3)) throw err;
    }
  }
}

async function makeDir(kind: string, subdirs: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `farmgate-${kind}-`));
  // Started as root, nginx workers run as "nobody" and Apache children as www-data:
  // they must be able to reach the folder.
  await chmod(dir, 0o755);
  for (const s of subdirs) await mkdir(path.join(dir, s), { recursive: true });
  return dir;
}

function requireBinary(...names: string[]): string {
  for (const n of names) {
    const p = binaryPath(n);
    if (p !== undefined) return p;
  }
  throw new Error(`${names.join(' / ')} not installed (apt-get install ${names[0] === 'apache2' ? 'apache2' : names[0]})`);
}

export interface StartFrontOptions {
  /** farmgate's config (as loaded); its farms, docroots and limits shape the front */
  readonly config: Config;
  /** where farmgate (or a stand-in) listens: host:port; default config.server.listen */
  readonly upstream?: string;
  /** no hits: every request proxied (the "nginx → farmgate" setup) */
  readonly proxyOnly?: boolean;
  /** TEST ONLY: the front answers requests carrying X-Farmgate-Decide with its route */
  readonly decideEndpoint?: boolean;
  /** Apache: hits by mod_lua alone (`farmgate front apache --lua-only`) */
  readonly luaOnly?: boolean;
  /** changes the generated configuration in DIR before the server is checked and started */
  readonly edit?: (dir: string) => Promise<void>;
}

/**
 * nginx or Apache with the configuration `farmgate front` writes, in front of farmgate, on a
 * free loopback port. Started as the README says (nginx -p DIR -c DIR/nginx.conf; apache2 -d DIR
 * -f DIR/httpd.conf -DFOREGROUND), in the foreground, checked with -t first, stopped by PID.
 */
export async function startFront(kind: 'nginx' | 'apache', opts: StartFrontOptions): Promise<FrontServer> {
  const binary = kind === 'nginx' ? requireBinary('nginx') : requireBinary('apache2', 'httpd');
  return withPortRetry(async () => {
    const dir = await makeDir(kind, []);
    const port = await freePort();
    await generateFront(opts.config, {
      kind,
      out: dir,
      listen: `127.0.0.1:${port}`,
      source: opts.config.file ?? 'farmgate.yaml',
      ...(opts.upstream ? { upstream: opts.upstream } : {}),
      ...(opts.proxyOnly ? { proxyOnly: true } : {}),
      ...(opts.decideEndpoint ? { decideEndpoint: true } : {}),
      ...(opts.luaOnly ? { luaOnly: true } : {}),
    });
    await opts.edit?.(dir);
    const errorLog = path.join(dir, 'logs', 'error.log');
    const describe = async () => {
      const files = kind === 'nginx' ? ['nginx.conf', 'farmgate.conf'] : ['httpd.conf', 'farmgate.conf'];
      const texts = await Promise.all(files.map(async (f) => `--- ${f}\n${await readFile(path.join(dir, f), 'utf8')}`));
      let log = '';
      try { log = await readFile(errorLog, 'utf8'); } catch { /* none */ }
      return `${texts.join('\n')}\n--- error.log\n${log}`;
    };
    if (kind === 'nginx') {
      const base = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', errorLog];
      return {
        kind, dir, port, binary, errorLog,
        accessLog: path.join(dir, 'logs', 'access.log'),
        checkArgs: [...base, '-t'],
        runArgs: [...base, '-g', 'daemon off;'],
        describe,
      };
    }
    const base = ['-d', dir, '-f', path.join(dir, 'httpd.conf')];
    return {
      kind, dir, port, binary, errorLog,
      accessLog: path.join(dir, 'logs', 'access.log'),
      checkArgs: [...base, '-t'],
      runArgs: [...base, '-DFOREGROUND'],
      // Debian's apache2 reads nothing from the environment with -f; keep a sane locale.
      env: { ...process.env, LANG: 'C' },
      describe,
    };
  });
}
