/**
 * Symlink escape from the docroot: someone who can create a link in a docroot (a shared docroot,
 * an operator's mistake, a compromised neighbour) points a cached file, or its `.h`/`.ttl`
 * sidecar, at a file outside it, hoping farmgate serves `/etc/shadow` as a page or replays its
 * lines as headers. "farmgate never reads, writes, touches or deletes anything outside a
 * docroot's real path, whether or not a symlink inside the docroot points elsewhere" (contract
 * section 2). A link that stays inside the docroot is an ordinary alias and is served.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsStore } from '../../src/cache/fs-store.js';
import { HotLayer } from '../../src/cache/hot-layer.js';
import { tempDir } from '../helpers/farmgate.js';

describe('symlink escape from the docroot', () => {
  let dir: string;
  let docroot: string;
  let outside: string;
  let store: FsStore;
  before(async () => {
    dir = await tempDir('farmgate-symlink-');
    docroot = path.join(dir, 'docroot');
    outside = path.join(dir, 'outside');
    await fs.mkdir(path.join(docroot, 'content'), { recursive: true });
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.html'), 'SECRET');
    await fs.writeFile(path.join(outside, 'headers.json'), JSON.stringify({ v: 1, headers: [['x-secret', 'leaked']] }));
    store = await FsStore.open(docroot, { hot: new HotLayer(1 << 20, 1 << 16) });
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('a cached file that links out of the docroot counts as not cached', async () => {
    await fs.symlink(path.join(outside, 'secret.html'), path.join(docroot, 'content/escape.html'));
    assert.equal(await store.lookup('/content/escape.html', 0), undefined);
  });

  it('a sidecar that links out of the docroot is never read', async () => {
    await fs.writeFile(path.join(docroot, 'content/page.html'), '<p>page</p>');
    await fs.symlink(path.join(outside, 'headers.json'), path.join(docroot, 'content/page.html.h'));
    await fs.symlink(path.join(outside, 'secret.html'), path.join(docroot, 'content/page.html.ttl'));
    const file = await store.lookup('/content/page.html', 0);
    assert.ok(file, 'the page itself is served');
    assert.deepEqual(file.headers, [], 'no header comes from outside the docroot');
    assert.equal(file.ttlExpiresMs, undefined, 'no expiry comes from outside the docroot');
  });

  it('a link that stays inside the docroot is an alias, served', async () => {
    await fs.writeFile(path.join(docroot, 'content/real.html'), '<p>real</p>');
    await fs.symlink(path.join(docroot, 'content/real.html'), path.join(docroot, 'content/alias.html'));
    const file = await store.lookup('/content/alias.html', 0);
    assert.equal(file?.body?.toString(), '<p>real</p>');
  });
});
