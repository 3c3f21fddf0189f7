// Real nginx and Apache httpd in front of a farmgate (or a stand-in) for end-to-end tests.
//
// Each server gets its own temp folder (config, logs, pid, temp files), listens on a free
// loopback port, is checked with `-t` before it starts, runs in the foreground as a child
// of the test process, and is stopped by its PID: never by name.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The templates the helpers render; exported so tests can render them on their own. */
export const templates = {
  nginxSite: path.join(repoRoot, 'nginx', 'farmgate.conf.template'),
  nginxMain: path.join(repoRoot, 'nginx', 'nginx.conf.template'),
  apacheSite: path.join(repoRoot, 'apache', 'farmgate.conf.template'),
  apacheMain: path.join(repoRoot, 'apache', 'httpd.conf.template'),
} as const;

export interface FrontServerOptions {
  /** farmgate's (or the stand-in's) public port on farmgateHost. */
  farmgatePort: number;
  /** default 127.0.0.1 */
  farmgateHost?: string;
  /** Access-control lines for the flush path: `deny all;` (nginx), `Require all denied` (Apache). Default: none. */
  flushAllow?: string;
}

export interface FrontServer {
  kind: 'nginx' | 'apache';
  port: number;
  /** `http://127.0.0.1:PORT` (no trailing slash) */
  url: string;
  /** PID of the master (nginx) / parent (Apache) process */
  pid: number;
  /** temp folder holding the rendered config, logs and pid file; removed by stop() */
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

/**
 * Replaces every `{{NAME}}` (NAME: capitals, digits, `_`) in the template with vars[NAME].
 * A multi-line value that stands alone on its line keeps that line's indentation on every
 * line. Throws, naming them, when placeholders have no value.
 */
export async function renderTemplate(templatePath: string, vars: Record<string, string>): Promise<string> {
  const text = await readFile(templatePath, 'utf8');
  const missing = new Set<string>();
  const out = text.replace(/^([ \t]*)\{\{([A-Z0-9_]+)\}\}[ \t]*$|\{\{([A-Z0-9_]+)\}\}/gm,
    (match: string, indent: string | undefined, lineName: string | undefined, inlineName: string | undefined) => {
      const name = (lineName ?? inlineName) as string;
      const value = vars[name];
      if (value === undefined) {
        missing.add(name);
        return match;
      }
      if (lineName !== undefined) {
        const ind = indent ?? '';
        return value.split('\n').map((l) => (l === '' ? '' : ind + l)).join('\n');
      }
      return value;
    });
  if (missing.size > 0) {
    throw new Error(`renderTemplate(${templatePath}): no value for ${[...missing].map((n) => `{{${n}}}`).join(', ')}`);
  }
  return out;
}

/** Full path of an executable found on PATH or in the sbin folders (apache2 lives in /usr/sbin). */
export function binaryPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

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

/** nginx with nginx/farmgate.conf.template (inside nginx/nginx.conf.template) in front of farmgatePort. */
export async function startNginx(opts: FrontServerOptions): Promise<FrontServer> {
  const binary = requireBinary('nginx');
  return withPortRetry(async () => {
    const dir = await makeDir('nginx', ['logs', 'tmp']);
    const port = await freePort();
    const siteConf = path.join(dir, 'farmgate.conf');
    const mainConf = path.join(dir, 'nginx.conf');
    const errorLog = path.join(dir, 'logs', 'error.log');
    await writeFile(siteConf, await renderTemplate(templates.nginxSite, {
      LISTEN: `127.0.0.1:${port}`,
      FARMGATE: `${opts.farmgateHost ?? '127.0.0.1'}:${opts.farmgatePort}`,
      LOG_DIR: path.join(dir, 'logs'),
      FLUSH_ALLOW: opts.flushAllow ?? '',
    }));
    await writeFile(mainConf, await renderTemplate(templates.nginxMain, {
      PREFIX: dir,
      WORKER_PROCESSES: '2',
      SITE_CONF: siteConf,
    }));
    const base = ['-p', dir, '-c', mainConf, '-e', errorLog];
    return {
      kind: 'nginx', dir, port, binary, errorLog,
      accessLog: path.join(dir, 'logs', 'farmgate.access.log'),
      checkArgs: [...base, '-t'],
      runArgs: [...base, '-g', 'daemon off;'],
      describe: async () => `--- ${mainConf}\n${await readFile(mainConf, 'utf8')}\n--- ${siteConf}\n${await readFile(siteConf, 'utf8')}`,
    };
  });
}

function apacheModulesDir(): string {
  const candidates = [process.env.APACHE_MODULES, '/usr/lib/apache2/modules', '/usr/lib64/httpd/modules',
    '/etc/httpd/modules', '/usr/lib/httpd/modules', '/usr/local/apache2/modules'];
  for (const c of candidates) {
    if (c === undefined || c === '') continue;
    try {
      accessSync(path.join(c, 'mod_proxy.so'));
      return c;
    } catch {
      // next
    }
  }
  throw new Error('Apache modules folder not found (looked for mod_proxy.so); set APACHE_MODULES');
}

/** Apache httpd with apache/farmgate.conf.template (inside apache/httpd.conf.template) in front of farmgatePort. */
export async function startApache(opts: FrontServerOptions): Promise<FrontServer> {
  const binary = requireBinary('apache2', 'httpd');
  const modules = apacheModulesDir();
  // Apache refuses to serve as root; started as root it needs a user to switch to.
  const runUser = process.env.FARMGATE_APACHE_USER ?? 'www-data';
  const runAs = process.getuid?.() === 0 ? `User ${runUser}\nGroup ${runUser}` : '';
  return withPortRetry(async () => {
    const dir = await makeDir('apache', ['logs', 'run']);
    const port = await freePort();
    const siteConf = path.join(dir, 'farmgate.conf');
    const mainConf = path.join(dir, 'httpd.conf');
    await writeFile(siteConf, await renderTemplate(templates.apacheSite, {
      LISTEN: `127.0.0.1:${port}`,
      FARMGATE: `${opts.farmgateHost ?? '127.0.0.1'}:${opts.farmgatePort}`,
      LOG_DIR: path.join(dir, 'logs'),
      FLUSH_ALLOW: opts.flushAllow ?? '',
    }));
    await writeFile(mainConf, await renderTemplate(templates.apacheMain, {
      PREFIX: dir,
      MODULES: modules,
      LISTEN: `127.0.0.1:${port}`,
      RUN_AS: runAs,
      SITE_CONF: siteConf,
    }));
    return {
      kind: 'apache', dir, port, binary,
      errorLog: path.join(dir, 'logs', 'error.log'),
      accessLog: path.join(dir, 'logs', 'farmgate.access.log'),
      checkArgs: ['-t', '-f', mainConf],
      runArgs: ['-f', mainConf, '-DFOREGROUND'],
      // Debian's apache2 reads nothing from the environment with -f; keep a sane locale.
      env: { ...process.env, LANG: 'C' },
      describe: async () => `--- ${mainConf}\n${await readFile(mainConf, 'utf8')}\n--- ${siteConf}\n${await readFile(siteConf, 'utf8')}`,
    };
  });
}
