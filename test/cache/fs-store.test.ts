/**
 * The file-system store: the store contract on real temp docroots, then what only a disk shows:
 * the on-disk layout (mtime = render start, the versioned `.h`), no temporary file left, changes by
 * another process noticed after the check interval, the symlink guard, the crash sweep.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsStore } from '../../src/cache/fs-store.js';
import { HotLayer } from '../../src/cache/hot-layer.js';
import type { StoredMeta } from '../../src/cache/store.js';
import { tempDir } from '../helpers/farmgate.js';
import { cacheStoreContract } from './store-contract.js';

cacheStoreContract('FsStore', async ({ now, observer }) => {
  const dir = await tempDir('farmgate-store-');
  const store = await FsStore.open(path.join(dir, 'docroot'), { hot: new HotLayer(1 << 20, 1 << 16), now, observer });
  return { store, close: () => fs.rm(dir, { recursive: true, force: true }) };
});

const HTML: StoredMeta = { headers: [['content-type', 'text/html']], ttlExpiresMs: undefined };

describe('FsStore on disk', () => {
  let dir: string;
  let store: FsStore;
  let clock = 1_700_000_000_000;
  const errors: string[] = [];
  before(async () => {
    dir = await tempDir('farmgate-store-');
    store = await FsStore.open(path.join(dir, 'docroot'), {
      hot: new HotLayer(1 << 20, 1 << 16),
      now: () => clock,
      onError: (op, docPath, err) => errors.push(`${op} ${docPath} ${(err as NodeJS.ErrnoException).code}`),
    });
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  async function put(docPath: string, body: string, startedAt: number, meta = HTML): Promise<boolean> {
    const w = store.beginWrite(docPath, startedAt);
    w.write(Buffer.from(body));
    return w.commit(meta);
  }

  it('lays a file out as docroot + P with mtime = render start and a versioned .h, no temporary file left', async () => {
    assert.equal(await put('/content/a.html', 'A', clock - 5000), true);
    const file = path.join(store.docroot, 'content/a.html');
    assert.equal(await fs.readFile(file, 'utf8'), 'A');
    assert.equal(Math.round((await fs.stat(file)).mtimeMs), clock - 5000);
    assert.deepEqual(JSON.parse(await fs.readFile(file + '.h', 'utf8')), { v: 1, headers: [['content-type', 'text/html']] });
    assert.deepEqual((await fs.readdir(path.dirname(file))).sort(), ['a.html', 'a.html.h']);
  });

  it('a .ttl sidecar is an empty file whose mtime is the expiry', async () => {
    await put('/content/t.html', 'T', clock - 10, { headers: [], ttlExpiresMs: clock + 30_000 });
    const ttl = path.join(store.docroot, 'content/t.html.ttl');
    assert.equal((await fs.readFile(ttl)).length, 0);
    assert.equal(Math.round((await fs.stat(ttl)).mtimeMs), clock + 30_000);
  });

  it('a file changed by another process is noticed once the check interval has passed', async () => {
    await put('/content/o.html', 'ours', clock - 100);
    assert.equal(store.peek('/content/o.html', 1000)?.body?.toString(), 'ours');
    const file = path.join(store.docroot, 'content/o.html');
    await fs.writeFile(file, 'theirs!');
    assert.equal(store.peek('/content/o.html', 1000)?.body?.toString(), 'ours', 'within the interval: memory');
    clock += 1000;
    assert.equal(store.peek('/content/o.html', 1000), undefined, 'due: the synchronous check sees the change');
    assert.equal((await store.lookup('/content/o.html', 1000))?.body?.toString(), 'theirs!');
    await fs.utimes(path.join(store.docroot, '.stat'), new Date(clock), new Date(clock)).catch(async () => {
      await fs.writeFile(path.join(store.docroot, '.stat'), '');
    });
    const lookup = store.statLookup('/content/o.html', 2);
    assert.equal(store.peekStat(lookup, 1000), 'check', 'an unknown .stat must be read');
    assert.ok((await store.readStat(lookup, 1000)) !== undefined);
  });

  it('a folder removed by a flush leaves no temporary folder behind', async () => {
    await put('/content/tree/a/b.html', 'b', clock - 10);
    assert.equal(await store.remove('/content/tree'), true);
    assert.deepEqual((await fs.readdir(path.join(store.docroot, 'content'))).filter((n) => n.startsWith('.fgtmp')), []);
  });

  it('a write whose folder a flush removes while it is written is not stored, and is no error', async () => {
    errors.length = 0;
    await put('/content/gone/old.html', 'old', clock - 10);
    clock += 1;
    // Rendered after the delete's fence (so the fence does not refuse it), its temporary file
    // opened in the folder before the folder is renamed aside.
    const w = store.beginWrite('/content/gone/new.html', clock + 1);
    w.write(Buffer.from('new'));
    await new Promise((r) => setImmediate(r)); // the temporary file is open
    assert.equal(await store.remove('/content/gone'), true);
    assert.equal(await w.commit(HTML), false);
    assert.deepEqual(errors, []);
    assert.equal(store.writable, true);
    assert.deepEqual(await fs.readdir(path.join(store.docroot, 'content')).then((n) => n.filter((x) => x.includes('gone') || x.startsWith('.fgtmp'))), []);
  });

  it('a file stored into a folder while its removal finishes is still heard as stored, after the removal', async () => {
    const heard: string[] = [];
    const d = await tempDir('farmgate-store-');
    try {
      const s = await FsStore.open(path.join(d, 'docroot'), {
        hot: new HotLayer(1 << 20, 1 << 16),
        now: () => clock,
        observer: { stored: (p) => heard.push(`stored ${p}`), removed: (p, kind) => heard.push(`removed ${p} ${kind}`) },
      });
      // A folder big enough that deleting the renamed copy takes a while.
      for (let i = 0; i < 200; i++) {
        const w = s.beginWrite(`/tree/f${i}.html`, clock - 10);
        w.write(Buffer.from('x'));
        await w.commit(HTML);
      }
      heard.length = 0;
      clock += 1;
      const removing = s.remove('/tree');
      // The folder is renamed aside synchronously; its deletion (200 files) is still going on.
      await new Promise((r) => setImmediate(r));
      const w = s.beginWrite('/tree/new.html', clock + 1);
      w.write(Buffer.from('rendered after the delete'));
      assert.equal(await w.commit(HTML), true);
      await removing;
      // The tag index (the observer) must not forget the new file when the old tree is gone.
      assert.deepEqual(heard, ['removed /tree tree', 'stored /tree/new.html']);
      assert.equal((await s.lookup('/tree/new.html', 0))?.body?.toString(), 'rendered after the delete');
    } finally {
      await fs.rm(d, { recursive: true, force: true });
    }
  });

  it('a large file is deleted off the event loop: gone at once, nothing left once remove() resolved', async () => {
    const big = Buffer.alloc(1024 * 1024, 7);
    const w = store.beginWrite('/content/video.mp4', clock - 10);
    w.write(big);
    assert.equal(await w.commit({ headers: [], ttlExpiresMs: undefined }), true);
    assert.equal(await store.remove('/content/video.mp4', { withSidecars: true }), true);
    const left = (await fs.readdir(path.join(store.docroot, 'content'))).filter((n) => n.includes('video') || n.startsWith('.fgtmp'));
    assert.deepEqual(left, []);
    assert.equal(await store.lookup('/content/video.mp4', 0), undefined);
  });

  it('never follows a symlink out of the docroot', async () => {
    const outside = path.join(dir, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.html'), 'secret');
    await fs.mkdir(path.join(store.docroot, 'content'), { recursive: true });
    await fs.symlink(outside, path.join(store.docroot, 'content/link'));
    assert.equal(await store.lookup('/content/link/secret.html', 1000), undefined, 'not read');
    assert.equal(await put('/content/link/new.html', 'x', clock), false, 'not written');
    assert.equal(await store.touchStat('/content/link', clock), false, 'not touched');
    assert.equal(await store.remove('/content/link/secret.html'), false, 'not deleted');
    assert.deepEqual(await store.list('/content/link'), [], 'not listed');
    assert.deepEqual(await fs.readdir(outside), ['secret.html']);
    // A `.stat` that is a symlink leading out is not followed either.
    const target = path.join(outside, 'secret.html');
    const before = (await fs.stat(target)).mtimeMs;
    await fs.mkdir(path.join(store.docroot, 'linked-stat'), { recursive: true });
    await fs.symlink(target, path.join(store.docroot, 'linked-stat/.stat'));
    assert.equal(await store.touchStat('/linked-stat', clock + 60_000), false, 'not touched');
    assert.equal((await fs.stat(target)).mtimeMs, before);
  });

  it('a file/folder collision is not stored and not reported as a write error', async () => {
    await fs.mkdir(path.join(store.docroot, 'col'), { recursive: true });
    await fs.writeFile(path.join(store.docroot, 'col/x.png'), 'a file where a folder must be');
    errors.length = 0;
    assert.equal(await put('/col/x.png/_jcr_content/r.png', 'y', clock), false);
    await fs.mkdir(path.join(store.docroot, 'col/dir.html'));
    assert.equal(await put('/col/dir.html', 'z', clock), false);
    assert.deepEqual(errors, []);
    assert.equal(store.writable, true, 'fills keep trying: the disk itself is fine');
  });

  it('a write below a folder that leaves the docroot is refused and reported', async () => {
    errors.length = 0;
    assert.equal(await put('/content/link/other.html', 'x', clock), false);
    assert.deepEqual(errors, ['open /content/link/other.html undefined']);
  });

  it('sweeps temporary files and folders whose writer is gone', async () => {
    const tmp = path.join(store.docroot, 'content/.fgtmp-x.html.999999999.1');
    const tmpDir = path.join(store.docroot, 'content/.fgtmp-old.999999999.2');
    await fs.writeFile(tmp, 'partial');
    await fs.mkdir(path.join(tmpDir, 'sub'), { recursive: true });
    await fs.writeFile(path.join(tmpDir, 'sub/a.html'), 'moved aside, never deleted');
    const mine = path.join(store.docroot, `content/.fgtmp-y.html.${process.pid}.3`);
    await fs.writeFile(mine, 'ours, in progress');
    assert.equal(await store.sweepTempFiles(), 2);
    await assert.rejects(fs.stat(tmp));
    await assert.rejects(fs.stat(tmpDir));
    await fs.stat(mine);
  });
});
