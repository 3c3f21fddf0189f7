/**
 * A tag that tries to name a path outside the docroot. Tags are names, never paths: a tag that
 * looks like a path deletes only the cached files that carry it. Even a tampered tag index (a
 * record naming `../..`, or a file behind a symlink that leaves the docroot) deletes nothing
 * outside the docroot's real path, and a webhook value holding `..` never becomes a path.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signBody } from '../../src/invalidation/signature.js';
import { tagIndexDir } from '../../src/tags/tag-store.js';
import { umbracoHeaders } from '../fixtures/webhooks.js';
import { oneFarmYaml, startFarmgate, tempDir, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const SECRET = 'traversal-secret-0123456789';
const yaml = (url: string) =>
  oneFarmYaml(url, {}, `invalidation:\n  api: { secret: "${SECRET}" }\n  webhooks:\n    - { name: umb, kind: umbraco, secret: "${SECRET}", paths: ["/content/site{path}"] }\n`);

describe('a tag that tries to name a path outside the docroot', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  let dir: string;
  let outside: string;
  before(async () => {
    render = await startRender(() => ({ headers: { 'content-type': 'text/html', 'surrogate-key': '../../outside/secret.txt /etc/passwd %2e%2e' }, body: 'page' }));
    dir = await tempDir();
    outside = path.join(dir, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.txt'), 'keep me');
    await fs.writeFile(path.join(outside, 'passwd'), 'keep me too');
    // A tampered index, saved "cleanly" so it is trusted as loaded (no rebuild): its record goes
    // through a symlink inside the docroot to a folder outside it. (A record with `..` is refused
    // at load: test/tags/tag-store.test.ts.)
    const docroot = path.join(dir, 'docroot');
    await fs.mkdir(path.join(docroot, 'content'), { recursive: true });
    await fs.symlink(outside, path.join(docroot, 'content/link'));
    const index = tagIndexDir(path.join(dir, 'var/state'), await fs.realpath(docroot));
    await fs.mkdir(index, { recursive: true });
    await fs.writeFile(
      path.join(index, 'snapshot.jsonl'),
      [JSON.stringify({ farmgateTags: 1, docroot: await fs.realpath(docroot), files: 1 }), JSON.stringify(['/content/link/secret.txt', ['evil']]), ''].join('\n'),
    );
    await fs.writeFile(path.join(index, 'clean'), 'tampered\n');
    fg = await startFarmgate(yaml(render.url), { dir });
    await fg.request('/content/site/p.html', { host: 'site.local' });
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  const invalidate = async (tags: string[]) => {
    const body = JSON.stringify({ tags });
    const res = await fg.request('/farmgate/v1/invalidate', { method: 'POST', headers: { 'X-Farmgate-Signature': signBody(body, SECRET) }, body });
    return { status: res.status, json: JSON.parse(await res.text()) as { farms: { deleted: string[] }[] } };
  };
  const outsideIntact = async () => {
    assert.equal(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8'), 'keep me');
    assert.equal(await fs.readFile(path.join(outside, 'passwd'), 'utf8'), 'keep me too');
  };

  it('path-like tags are names: they delete only the page that carries them', async () => {
    const r = await invalidate(['../../outside/secret.txt', '/etc/passwd', '%2e%2e']);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.farms[0]!.deleted, ['/content/site/p.html']);
    await outsideIntact();
  });

  it('a tampered index record behind a symlink that leaves the docroot deletes nothing', async () => {
    const tags = fg.app.runtime().tagsFor(fg.app.runtime().farms[0]!);
    assert.equal(tags.status().rebuildReason, undefined, 'the tampered index was trusted as saved');
    assert.deepEqual([...tags.filesWithNow('evil')], ['/content/link/secret.txt']);
    const r = await invalidate(['evil']);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.farms[0]!.deleted, []);
    await outsideIntact();
  });

  it('a webhook whose route holds .. does not become a flush path', async () => {
    const body = JSON.stringify({ id: '5ad0bc2c-5a5e-4d76-8a8e-1b1a4e0b3c11', route: { path: '/../../../outside/', startItem: { path: 'x' } } });
    const res = await fg.request('/farmgate/v1/webhooks/umb', { method: 'POST', headers: { ...umbracoHeaders('Umbraco.ContentPublish'), 'X-Farmgate-Secret': SECRET }, body });
    const json = JSON.parse(await res.text()) as { paths: string[] };
    assert.equal(res.status, 200);
    assert.deepEqual(json.paths, []);
    await outsideIntact();
  });
});
