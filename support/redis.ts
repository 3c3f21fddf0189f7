/**
 * A real redis-server for tests: on a free loopback port, no persistence (`--save ''
 * --appendonly no`), its own temp dir, in the foreground as a child of the test process,
 * ready once PING answers, stopped by its PID (SIGTERM, then SIGKILL). `kill()` is a crash
 * (SIGKILL) and `restart()` starts a fresh one on the same port: the data is gone, as after a
 * crash of a Redis without persistence.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './front-servers.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** One command over a fresh connection (RESP), for assertions and tampering. */
  command(...args: (string | number)[]): Promise<unknown>;
  /** SIGKILL, no goodbye. */
  kill(): Promise<void>;
  /** Starts again on the same port (empty). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    try {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

export async function startRedis(): Promise<TestRedis> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;

  async function launch(): Promise<void> {
    const proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    child = proc;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      try {
        if ((await command(port, ['PING'])) === 'PONG') return;
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on ${port} did not answer PING within 10 s`);
  }

  async function signalAndWait(sig: NodeJS.Signals, waitMs: number): Promise<boolean> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return true;
    const exited = new Promise<boolean>((resolve) => proc.once('exit', () => resolve(true)));
    proc.kill(sig);
    return Promise.race([exited, new Promise<boolean>((r) => setTimeout(() => r(false), waitMs))]);
  }

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    command: (...args) => command(port, args),
    async kill() {
      await signalAndWait('SIGKILL', 5000);
    },
    async restart() {
      await signalAndWait('SIGKILL', 5000);
      await launch();
    },
    async stop() {
      if (!(await signalAndWait('SIGTERM', 3000))) await signalAndWait('SIGKILL', 3000);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** A minimal RESP client: one command, one reply, then close. */
export function command(port: number, args: readonly (string | number)[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis command ${args[0]} timed out`));
    }, 5000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => {
      const parts = args.map(String);
      socket.write(`*${parts.length}\r\n` + parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join(''));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseResp(buf, 0);
      if (parsed === undefined) return;
      clearTimeout(timer);
      socket.end();
      if (parsed.value instanceof Error) reject(parsed.value);
      else resolve(parsed.value);
    });
  });
}

function parseResp(buf: Buffer, at: number): { value: unknown; next: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next };
    case '-':
      return { value: new Error(line), next };
    case ':':
      return { value: Number(line), next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      if (buf.length < next + n + 2) return undefined;
      return { value: buf.toString('utf8', next, next + n), next: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const out: unknown[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = parseResp(buf, pos);
        if (item === undefined) return undefined;
        out.push(item.value);
        pos = item.next;
      }
      return { value: out, next: pos };
    }
    default:
      return { value: new Error(`unexpected RESP type ${type}`), next };
  }
}
