/**
 * The tag index after a crash: farmgate killed with SIGKILL right after caching tagged pages
 * (and, to be sure the test covers it, the index's journal lost with it). The restart sees no
 * `clean` marker, rebuilds the index from the `.h` sidecars, and a tag invalidation then reaches
 * every page that carries the tag.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signBody } from '../../src/invalidation/signature.js';
import { freePort } from '../../support/front-servers.js';
import { httpRequest, tempDir } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';
import { waitFor } from '../helpers/wait.js';

const tsx = import.meta.resolve('tsx');
const SECRET = 'crash-secret-0123456789abcdef';

describe('tag index after kill -9', () => {
  let dir: string;
  let render: TestRender;
  before(async () => {
    dir = await tempDir('farmgate-tagcrash-');
    render = await startRender((req) => ({ headers: { 'content-type': 'text/html', 'surrogate-key': `page-${req.url} campaign` }, body: `<html>${req.url}</html>` }));
  });
  after(async () => {
    await render.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('rebuilds from the sidecars and still finds every tagged page', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const file = path.join(dir, 'farmgate.yaml');
    await fs.writeFile(
      file,
      `server:\n  listen: "127.0.0.1:${port}"\nfarms:\n  - name: site\n    virtualhosts: ["site.local"]\n    docroot: ./docroot\n    renders:\n      - url: ${render.url}\n    flushRoutes: ["/content/**"]\ninvalidation:\n  api:\n    secret: "${SECRET}"\n`,
    );
    const start = () => {
      const child = spawn(process.execPath, ['--import', tsx, path.resolve('src/cli/index.ts'), 'serve', '--config', file], { env: { ...process.env, FARMGATE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout!.on('data', (d) => (log += d));
      child.stderr!.on('data', (d) => (log += d));
      return { child, log: () => log };
    };
    const base = `http://127.0.0.1:${port}`;
    const waitUp = () => waitFor('farmgate to answer', () => httpRequest(base + '/x.html', { host: 'unknown.local' }).then(() => true, () => false));
    const pages = Array.from({ length: 50 }, (_, i) => `/content/p${i}.html`);

    const first = start();
    await waitUp();
    for (const p of pages) assert.equal((await httpRequest(base + p, { host: 'site.local' })).headers.get('x-cache'), 'MISS');
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const [indexDir] = await fs.readdir(path.join(dir, 'var/state/tags'));
    const index = path.join(dir, 'var/state/tags', indexDir!);
    await assert.rejects(fs.stat(path.join(index, 'clean')), 'no clean marker after a kill');
    await fs.rm(path.join(index, 'journal.jsonl'), { force: true });

    const second = start();
    try {
      await waitUp();
      for (const p of pages) assert.equal((await httpRequest(base + p, { host: 'site.local' })).headers.get('x-cache'), 'HIT', `${p} survived`);
      const body = JSON.stringify({ tags: ['campaign'] });
      const res = await httpRequest(base + '/farmgate/v1/invalidate', { method: 'POST', headers: { 'X-Farmgate-Signature': signBody(body, SECRET) }, body });
      const json = JSON.parse(await res.text()) as { farms: { deleted: string[] }[] };
      assert.equal(res.status, 200);
      assert.equal(json.farms[0]!.deleted.length, pages.length, 'every tagged page found by the rebuilt index');
      assert.match(second.log(), /tag index: rebuilding from the cached files/);
      assert.match(second.log(), /"reason":"the last run did not stop cleanly"/);
      for (const p of pages.slice(0, 5)) assert.equal((await httpRequest(base + p, { host: 'site.local' })).headers.get('x-cache'), 'MISS');
    } finally {
      second.child.kill('SIGKILL');
    }
  });
});
