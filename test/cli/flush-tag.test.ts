/**
 * `farmgate flush --tag` sends one signed invalidation API request; `farmgate explain --tag`
 * shows what it would delete, changing nothing. Against a real farmgate and render.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { explainCommand } from '../../src/cli/explain.js';
import { buildTagBody } from '../../src/cli/flush-tags.js';
import { flushCommand } from '../../src/cli/flush.js';
import { verifyBodySignature } from '../../src/invalidation/signature.js';
import { runCli } from '../helpers/cli-io.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const SECRET = 'cli-secret-0123456789abcdef';

describe('farmgate flush --tag / explain --tag', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  let configFile: string;
  const cached = async (p: string) => (await fg.request(p, { host: 'site.local' })).headers.get('x-cache');
  before(async () => {
    render = await startRender((req) => ({ headers: { 'content-type': 'text/html', 'surrogate-key': req.url?.includes('a') ? 'product-42 nav' : 'nav' }, body: 'x' }));
    fg = await startFarmgate(oneFarmYaml(render.url, {}, `invalidation:\n  api:\n    secret: \${FARMGATE_API_SECRET}\n`.replace('${FARMGATE_API_SECRET}', SECRET)));
    configFile = path.join(fg.dir, 'farmgate.yaml');
    for (const p of ['/content/site/a.html', '/content/site/b.html']) await cached(p);
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('the body carries the tags, paths, action, farms and the sender’s clock', () => {
    assert.deepEqual(JSON.parse(buildTagBody({ url: 'x', tag: ['a', 'b'], handle: ['/p'], action: 'Delete', farm: ['site'] }, 1234)), {
      tags: ['a', 'b'],
      paths: ['/p'],
      action: 'Delete',
      farms: ['site'],
      ts: 1234,
    });
    const body = buildTagBody({ url: 'x', tag: ['a'] });
    assert.equal(verifyBodySignature(Buffer.from(body), 'sha256=' + '0'.repeat(64), SECRET).ok, false);
  });

  it('explain --tag lists the files, changing nothing', async () => {
    await fg.app.runtime().tagsFor(fg.app.runtime().farms[0]!).flush();
    const r = await runCli(explainCommand, ['explain', '--config', configFile, '--tag', 'product-42']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /farm site: 1 cached file would be deleted/);
    assert.match(r.out, /\/content\/site\/a\.html/);
    const json = JSON.parse((await runCli(explainCommand, ['explain', '--config', configFile, '--tag', 'nav', '--json'])).out);
    assert.equal(json.farms[0].count, 2);
    assert.equal(json.farms[0].source, 'index');
    assert.equal(await cached('/content/site/a.html'), 'HIT', 'explain changed nothing');
    assert.equal((await runCli(explainCommand, ['explain', '--config', configFile, '--tag', 'a b'])).code, 1);
  });

  it('flush --tag with the config’s secret deletes the tagged files', async () => {
    const r = await runCli(flushCommand, ['flush', '--url', fg.url, '--tag', 'product-42', '--config', configFile]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^200 tags product-42 → site: 1 deleted/);
    assert.equal(await cached('/content/site/a.html'), 'MISS');
    assert.equal(await cached('/content/site/b.html'), 'HIT');
  });

  it('a wrong secret is refused with the server’s reason and exit 1; no secret at all is a usage error', async () => {
    const r = await runCli(flushCommand, ['flush', '--url', fg.url, '--tag', 'nav', '--secret', 'wrong-secret-00000000']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^401 tags nav: .*signature does not match/);
    const saved = process.env.FARMGATE_API_SECRET;
    delete process.env.FARMGATE_API_SECRET;
    try {
      const none = await runCli(flushCommand, ['flush', '--url', fg.url, '--tag', 'nav']);
      assert.equal(none.code, 1);
      assert.match(none.err, /no API secret/);
    } finally {
      if (saved !== undefined) process.env.FARMGATE_API_SECRET = saved;
    }
    assert.equal(await cached('/content/site/b.html'), 'HIT');
  });

  it('flush without --handle or --tag is a usage error', async () => {
    const r = await runCli(flushCommand, ['flush', '--url', fg.url]);
    assert.equal(r.code, 1);
    assert.match(r.err, /--handle/);
    await fs.access(configFile);
  });
});
