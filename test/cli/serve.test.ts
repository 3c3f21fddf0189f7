/**
 * `farmgate serve` start-up failures, as a user meets them: each prints one line on stderr that
 * says what to do (docs/errors.md) and exits 1; never a stack trace. And `--listen/--admin`
 * override the config's listeners (an imported config has no `server` block).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpRequest, tempDir } from '../helpers/farmgate.js';
import { freePort } from '../../support/front-servers.js';

const cli = path.resolve('src/cli/index.ts');
const tsx = import.meta.resolve('tsx');
const run = (args: string[], cwd?: string) =>
  spawnSync(process.execPath, ['--import', tsx, cli, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });

/** One line, no stack trace, exit 1. */
function assertOneLineFailure(r: ReturnType<typeof run>, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at |Node\.js v\d/, 'no stack trace');
}

describe('farmgate serve: start-up failures', () => {
  let dir: string;
  const yaml = (docroot: string, extra = '', listen = '127.0.0.1:0') => `server:
  listen: "${listen}"
farms:
  - name: site
    virtualhosts: ["*"]
    docroot: ${docroot}
    renders: [{ url: "http://127.0.0.1:9" }]
${extra}`;
  const write = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await fs.writeFile(file, text);
    return file;
  };
  before(async () => {
    dir = await tempDir('farmgate-serve-');
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('a port in use → one line naming the port and what to do', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = run(['serve', '--config', await write('busy.yaml', yaml('./cache', '', `127.0.0.1:${port}`))]);
      assertOneLineFailure(r, new RegExp(`^farmgate: cannot listen on 127\\.0\\.0\\.1:${port} \\(server\\.listen\\): the port is in use .*--listen ADDR$`));
      const admin = run(['serve', '--config', await write('busy2.yaml', yaml('./cache')), '--admin', `127.0.0.1:${port}`]);
      assertOneLineFailure(admin, /^farmgate: cannot listen on .* \(server\.admin\): the port is in use/);
    } finally {
      blocker.close();
    }
  });

  it('a docroot that cannot be written → one line naming the farm and the key to fix', async () => {
    await fs.writeFile(path.join(dir, 'a-file'), 'x');
    const r = run(['serve', '--config', await write('docroot.yaml', yaml('./a-file/cache'))]);
    assertOneLineFailure(r, /^farmgate: docroot .*a-file\/cache of farm site is not writable \(a file stands where a folder .*\): .*farms\.0\.docroot/);
  });

  it('a malformed Redis URL → the config line and column that holds it', async () => {
    const file = await write('redis.yaml', yaml('./cache', 'propagation:\n  mode: redis\n  secret: "0123456789abcdef0123"\n  redis:\n    url: "redis://[::1"\n'));
    const r = run(['serve', '--config', file]);
    assertOneLineFailure(r, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:12:10 propagation\\.redis\\.url: expected a redis:// URL like`));
  });

  it('a missing config file → one line saying how to point at one', () => {
    const r = run(['serve', '--config', 'no-such-farmgate.yaml'], dir);
    assertOneLineFailure(r, /^no-such-farmgate\.yaml:1:1 cannot read config file: no such file .*pass --config/);
  });

  it('a malformed --listen → one line', async () => {
    const r = run(['serve', '--config', await write('ok.yaml', yaml('./cache')), '--listen', 'localhost']);
    assertOneLineFailure(r, /^farmgate: --listen expects host:port/);
  });
});

describe('farmgate serve --listen --admin', () => {
  it('override server.listen and server.admin', { timeout: 60_000 }, async () => {
    const dir = await tempDir('farmgate-serve-listen-');
    const [port, adminPort] = [await freePort(), await freePort()];
    // No server block at all, as import-dispatcher writes it.
    const config = path.join(dir, 'imported.yaml');
    await fs.writeFile(config, 'farms:\n  - name: site\n    virtualhosts: ["*"]\n    docroot: ./cache\n    renders: [{ url: "http://127.0.0.1:9" }]\n');
    const child = spawn(process.execPath, ['--import', tsx, cli, 'serve', '--config', config, '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${adminPort}`], {
      env: { ...process.env, FARMGATE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((r) => child.on('exit', r));
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (/farmgate listening/.test(out)) resolve();
        });
        child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
      });
      const health = await httpRequest(`http://127.0.0.1:${adminPort}/healthz`);
      assert.equal(health.status, 200);
      const page = await httpRequest(`http://127.0.0.1:${port}/x.html`, { host: 'any' });
      assert.equal(page.status, 502, 'the public listener answers (its render is unreachable)');
    } finally {
      child.kill('SIGTERM');
      await exited;
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
