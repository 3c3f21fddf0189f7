/**
 * Hot reload under load (contract section 7): 20 reloads, some invalid, by SIGHUP and by file
 * change, while a client sends requests continuously: no request fails, invalid configs are
 * refused with FILE:LINE:COL messages and the running config stays, valid ones take effect.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../support/front-servers.js';
import { httpRequest, tempDir } from '../helpers/farmgate.js';
import { sleep, startRender, type TestRender } from '../helpers/render.js';
import { waitFor } from '../helpers/wait.js';

const tsx = import.meta.resolve('tsx');

function config(port: number, render: string, hosts: string[]): string {
  return `server:
  listen: "127.0.0.1:${port}"
farms:
  - name: site
    virtualhosts: ${JSON.stringify(hosts)}
    docroot: ./docroot
    renders:
      - url: ${render}
    cache:
      statfileslevel: 1
    flushRoutes: ["/content/**"]
`;
}

describe('config reload under load', () => {
  let dir: string;
  let render: TestRender;
  before(async () => {
    dir = await tempDir('farmgate-reload-');
    render = await startRender((req, n) => ({ body: `${req.url} ${n}`, delayMs: n % 7 === 0 ? 30 : 0 }));
  });
  after(async () => {
    await render.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('20 reloads (some invalid) while a client sends requests → 0 failed requests', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const file = path.join(dir, 'farmgate.yaml');
    await fs.writeFile(file, config(port, render.url, ['site.local']));
    const child = spawn(process.execPath, ['--import', tsx, path.resolve('src/cli/index.ts'), 'serve', '--config', file], {
      env: { ...process.env, FARMGATE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const outcomes = () => log.split('\n').filter((l) => l.includes('"config reloaded"') || l.includes('config reload refused')).length;
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor('farmgate to listen', () => log.includes('farmgate listening'));

      let running = true;
      const failures: string[] = [];
      let sent = 0;
      const client = async (id: number) => {
        while (running) {
          const p = `/content/p${(sent++ % 50) + id}.html`;
          try {
            const r = await httpRequest(base + p, { host: 'site.local' });
            await r.text();
            if (r.status !== 200) failures.push(`${p} → ${r.status}`);
          } catch (err) {
            failures.push(`${p} → ${(err as Error).message}`);
          }
        }
      };
      const clients = [client(0), client(100), client(200), client(300)];

      const invalid = [
        'farms:\n  - name: [unclosed\n',
        config(port, render.url, ['site.local']).replace('statfileslevel: 1', 'statfileslevel: "deep"'),
        config(port, render.url, ['site.local']).replace('    cache:', '    cahce:'),
      ];
      for (let i = 0; i < 20; i++) {
        const bad = i % 3 === 1;
        const text = bad ? invalid[Math.floor(i / 3) % invalid.length]! : config(port, render.url, ['site.local', `v${i}.local`]);
        const before = outcomes();
        await fs.writeFile(file, text);
        if (i % 2 === 0) child.kill('SIGHUP');
        // The next change only once this one was read: reloaded or refused, as the log says.
        await waitFor(`reload ${i} to be applied or refused`, () => outcomes() > before);
      }
      // End on a valid config with a new host, and prove it took effect.
      await fs.writeFile(file, config(port, render.url, ['site.local', 'final.local']));
      child.kill('SIGHUP');
      await waitFor('the final config to take effect', async () => (await httpRequest(base + '/content/final.html', { host: 'final.local' }).then((r) => r.text().then(() => r.status))) === 200);
      running = false;
      await Promise.all(clients);

      assert.ok(sent > 200, `only ${sent} requests were sent`);
      assert.deepEqual(failures, []);
      const final = await httpRequest(base + '/content/final.html', { host: 'final.local' });
      assert.equal(final.status, 200);
      const refused = log.split('\n').filter((l) => l.includes('config reload refused'));
      assert.ok(refused.length >= 6, `${refused.length} refused reloads logged`);
      assert.match(refused.join('\n'), new RegExp(`${file.replace(/[/.]/g, '\\$&')}:\\d+:\\d+ farms\\.0\\.cache\\.statfileslevel: expected number`));
      assert.match(refused.join('\n'), /farms\.0\.cahce: unknown key/);
      assert.ok(log.split('\n').filter((l) => l.includes('"config reloaded"')).length >= 10);
    } finally {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      child.kill('SIGKILL');
    }
  });
});
