/**
 * Crash safety: farmgate killed with SIGKILL while 200 cache writes are in flight. After a
 * restart no partial file is ever served (every body equals a complete render body) and the
 * temporary files the crash left behind are removed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../support/front-servers.js';
import { httpRequest, tempDir } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';
import { waitFor } from '../helpers/wait.js';

const tsx = import.meta.resolve('tsx');
const bodyFor = (p: string) => Buffer.from(`<html>${p}</html>`.padEnd(100_000, '.'));

/** Temporary files anywhere under dir (walked by hand: Node 20's recursive readdir misses entries). */
async function listTemp(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isDirectory()) out.push(...(await listTemp(path.join(dir, e.name))));
    else if (e.name.startsWith('.fgtmp-')) out.push(e.name);
  }
  return out;
}

describe('crash safety', () => {
  let dir: string;
  let render: TestRender;
  // The first run's renders send one chunk and wait here: the kill always lands mid-write.
  let release!: () => void;
  let hold: Promise<void> | undefined = new Promise<void>((r) => (release = r));
  before(async () => {
    dir = await tempDir('farmgate-crash-');
    render = await startRender((req) => ({ body: bodyFor(req.url ?? ''), chunks: 20, ...(hold ? { hold } : {}) }));
  });
  after(async () => {
    await render.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('kill -9 during 200 cache writes: no partial file is served after restart, temp files are swept', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const file = path.join(dir, 'farmgate.yaml');
    await fs.writeFile(
      file,
      `server:\n  listen: "127.0.0.1:${port}"\nfarms:\n  - name: site\n    virtualhosts: ["site.local"]\n    docroot: ./docroot\n    renders:\n      - url: ${render.url}\n    flushRoutes: ["/content/**"]\n`,
    );
    const start = () => {
      const child = spawn(process.execPath, ['--import', tsx, path.resolve('src/cli/index.ts'), 'serve', '--config', file], {
        env: { ...process.env, FARMGATE_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      child.stdout!.on('data', (d) => (log += d));
      child.stderr!.on('data', (d) => (log += d));
      return { child, log: () => log };
    };
    const base = `http://127.0.0.1:${port}`;
    const waitUp = () => waitFor('farmgate to answer', () => httpRequest(base + '/healthcheck.html', { host: 'unknown.local' }).then(() => true, () => false));
    const pages = Array.from({ length: 200 }, (_, i) => `/content/p${i}.html`);

    let first: { child: ChildProcess; log: () => string } | undefined = start();
    await waitUp();
    const inFlight = pages.map((p) => httpRequest(base + p, { host: 'site.local' }).then((r) => r.buffer()).catch(() => undefined));
    const docroot = path.join(dir, 'docroot');
    await render.arrived(pages.length);
    await waitFor('temporary files of the writes in flight', async () => (await listTemp(docroot)).length > 0);
    const leftBehind = await listTemp(docroot);
    first.child.kill('SIGKILL');
    hold = undefined;
    release();
    await Promise.all(inFlight);
    assert.ok(leftBehind.length > 0, 'the kill happened while writes were in flight');
    first = undefined;

    const second = start();
    try {
      await waitUp();
      await waitFor('the crash sweep', async () => (await listTemp(docroot)).length === 0, 5000).catch(() => undefined);
      assert.deepEqual(await listTemp(docroot), [], 'temporary files swept at start');
      // The log line is written asynchronously (pino), after the files are gone: wait for it too.
      await waitFor('the crash sweep logged', () => /removed temporary files left by a crash/.test(second.log()), 5000).catch(() => undefined);
      assert.match(second.log(), /removed temporary files left by a crash/);
      for (const p of pages) {
        const r = await httpRequest(base + p, { host: 'site.local' });
        const body = await r.buffer();
        assert.equal(r.status, 200);
        assert.ok(body.equals(bodyFor(p)), `${p} (${r.headers.get('x-cache')}) is complete`);
      }
    } finally {
      second.child.kill('SIGKILL');
    }
  });
});
