/**
 * `npm start` as a newcomer runs it (the demo script builds if needed, starts the sample render
 * and `farmgate serve` from the built CLI), on free ports: MISS, HIT, flush, MISS; Ctrl-C stops both.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../../support/front-servers.js';
import { httpRequest, tempDir } from '../helpers/farmgate.js';

describe('the demo (npm start)', () => {
  let dir: string;
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('serves, caches and flushes the sample pages, and stops on SIGINT', { timeout: 90_000 }, async () => {
    dir = await tempDir('farmgate-demo-');
    const [port, adminPort, renderPort] = [await freePort(), await freePort(), await freePort()];
    const demo = (await fs.readFile('config/farmgate.yaml', 'utf8'))
      .replace('127.0.0.1:8080', `127.0.0.1:${port}`)
      .replace('127.0.0.1:9180', `127.0.0.1:${adminPort}`)
      .replaceAll('http://127.0.0.1:4503', `http://127.0.0.1:${renderPort}`)
      .replaceAll('../var/', `${dir}/var/`);
    const config = path.join(dir, 'farmgate.yaml');
    await fs.writeFile(config, demo);
    const child = spawn(process.execPath, ['scripts/start-demo.mjs'], {
      env: { ...process.env, FARMGATE_DEMO_CONFIG: config, FARMGATE_DEMO_RENDER_PORT: String(renderPort), FARMGATE_DEMO_URL: `http://127.0.0.1:${port}`, FARMGATE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      const page = '/content/site-a/en.html';
      // The demo prints its instructions once the render and farmgate accept connections.
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (/farmgate demo is up/.test(out)) resolve();
          else if (child.exitCode !== null) reject(new Error(`the demo exited before coming up:\n${out}`));
        };
        child.stdout.on('data', check);
        child.on('exit', check);
        check();
      });
      assert.match(out, /curl -si -H 'Host: site-a.local'/, 'prints the curl lines to try');
      const first = await httpRequest(base + page, { host: 'site-a.local' });
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('x-cache'), 'MISS');
      const body1 = await first.text();
      assert.match(body1, /Rendered at/);
      const second = await httpRequest(base + page, { host: 'site-a.local' });
      assert.equal(second.headers.get('x-cache'), 'HIT');
      assert.equal(await second.text(), body1);
      const flushed = await httpRequest(base + '/dispatcher/invalidate.cache', {
        headers: { 'cq-action': 'Activate', 'cq-handle': '/content/site-a/en' },
      });
      assert.equal(flushed.status, 200);
      assert.equal(flushed.headers.get('x-farmgate-farms'), 'site-a');
      const third = await httpRequest(base + page, { host: 'site-a.local' });
      assert.equal(third.headers.get('x-cache'), 'MISS');
      assert.notEqual(await third.text(), body1);
    } finally {
      child.kill('SIGINT');
    }
    // Ctrl-C stops the demo (a hung demo fails the test by its timeout).
    await exited;
  });

  it('a port in use → one line naming the port and what holds it, exit 1, nothing started', { timeout: 60_000 }, async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const child = spawn(process.execPath, ['scripts/start-demo.mjs'], {
        env: { ...process.env, FARMGATE_DEMO_RENDER_PORT: String(busy) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      assert.equal(code, 1);
      assert.equal(err.trimEnd().split('\n').length, 1, err);
      assert.match(err, new RegExp(`^npm start: port ${busy} on 127\\.0\\.0\\.1 for the sample render \\(FARMGATE_DEMO_RENDER_PORT\\) is in use \\(a demo already running\\?`));
    } finally {
      blocker.close();
    }
  });
});
