/**
 * The persisted tag index: survives a clean restart without a walk, is rebuilt from the .h
 * sidecars after a crash, keeps what changed during the rebuild, refuses damaged records.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLEAN, JOURNAL, SNAPSHOT, TagStore, readSavedIndex, tagIndexDir } from '../../src/tags/tag-store.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))));

async function setup(): Promise<{ stateDir: string; docroot: string }> {
  const base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-tags-')));
  dirs.push(base);
  const docroot = path.join(base, 'docroot');
  await fs.mkdir(docroot);
  return { stateDir: path.join(base, 'state'), docroot };
}

/** A cached file with its .h sidecar, as the store writes them. */
async function cached(docroot: string, docPath: string, tags: string[]): Promise<void> {
  const abs = path.join(docroot, docPath);
  await fs.mkdir(path.dirname(abs), { recursive: true });
  await fs.writeFile(abs, 'body');
  await fs.writeFile(abs + '.h', JSON.stringify({ v: 1, headers: [], ...(tags.length ? { tags } : {}) }));
}

const open = (s: { stateDir: string; docroot: string }, extra: Partial<Parameters<typeof TagStore.open>[0]> = {}) =>
  TagStore.open({ stateDir: s.stateDir, realDocroot: s.docroot, ...extra });

describe('TagStore', () => {
  it('a clean stop and start keeps the index without rebuilding it', async () => {
    const s = await setup();
    let store = await open(s);
    await store.whenReady();
    store.record('/content/a.html', ['page-a', 'nav']);
    store.record('/content/b.html', ['page-b', 'nav']);
    store.record('/content/en/c.html', ['nav']);
    store.forget('/content/b.html');
    store.forgetUnder('/content/en');
    await store.close();
    assert.ok(await fs.stat(path.join(store.dir, CLEAN)));
    assert.ok(store.dir.startsWith(path.join(s.stateDir, 'tags')), 'the index lives in the state folder, not the docroot');

    store = await open(s);
    assert.equal(store.status().rebuildReason, undefined);
    assert.deepEqual(await store.filesWith(['nav']), ['/content/a.html']);
    assert.deepEqual(store.tagsOf('/content/a.html'), ['page-a', 'nav']);
    await assert.rejects(fs.stat(path.join(store.dir, CLEAN)), 'the marker is removed while running');
    await store.close();
  });

  it('after a crash, rebuilds from the sidecars: a file whose journal line was lost is found', async () => {
    const s = await setup();
    let store = await open(s);
    await store.whenReady();
    await cached(s.docroot, '/content/a.html', ['page-a']);
    store.record('/content/a.html', ['page-a']);
    await store.flush();
    // The crash: a file stored, its .h written, but the journal line never reached the disk.
    await cached(s.docroot, '/content/lost.html', ['page-lost', 'nav']);
    await cached(s.docroot, '/content/untagged.html', []);
    // ... and the process dies: no close(), no clean marker.
    store = await open(s);
    assert.equal(store.status().rebuildReason, 'the last run did not stop cleanly');
    assert.deepEqual(await store.filesWith(['nav']), ['/content/lost.html'], 'tag lookups wait for the rebuild');
    assert.deepEqual(await store.filesWith(['page-a', 'page-lost']), ['/content/a.html', '/content/lost.html']);
    assert.equal(store.status().rebuilding, false);
    assert.equal(store.status().files, 2);
    await store.close();
  });

  it('changes made while the rebuild walks the docroot win over what it read', async () => {
    const s = await setup();
    for (let i = 0; i < 300; i++) await cached(s.docroot, `/content/p${i}.html`, ['old', `p${i}`]);
    const store = await open(s);
    assert.equal(store.status().rebuilding, true);
    store.record('/content/p5.html', ['new']); // re-stored during the rebuild
    store.forget('/content/p6.html'); // deleted during the rebuild
    store.forgetUnder('/content'); // then the whole folder
    store.record('/content/p7.html', ['new']);
    await store.whenReady();
    assert.deepEqual(await store.filesWith(['old']), []);
    assert.deepEqual(await store.filesWith(['new']), ['/content/p7.html']);
    await store.close();
  });

  it('refuses damaged and tampered records, and rebuilds', async () => {
    const s = await setup();
    let store = await open(s);
    await store.whenReady();
    store.record('/content/a.html', ['page-a']);
    await store.close();
    await cached(s.docroot, '/content/a.html', ['page-a']);
    const lines = [
      JSON.stringify(['s', '/../../etc/passwd', ['evil']]),
      JSON.stringify(['s', '/content/../../outside.html', ['evil']]),
      'garbage',
      JSON.stringify(['s', '/content/b.html', ['ok']]),
      '["s","/content/torn.html",["cut', // a torn last line, no newline
    ];
    await fs.appendFile(path.join(store.dir, JOURNAL), lines.join('\n'));
    store = await open(s);
    assert.equal(store.status().rejectedRecords, 3);
    assert.match(store.status().rebuildReason ?? '', /3 damaged record/);
    await store.whenReady();
    assert.deepEqual(await store.filesWith(['evil']), []);
    assert.deepEqual(await store.filesWith(['page-a']), ['/content/a.html']);
    await store.close();
  });

  it('a snapshot of another docroot is not trusted', async () => {
    const s = await setup();
    let store = await open(s);
    await store.whenReady();
    store.record('/a.html', ['t']);
    await store.close();
    const snap = path.join(store.dir, SNAPSHOT);
    const text = await fs.readFile(snap, 'utf8');
    await fs.writeFile(snap, text.replace(JSON.stringify(s.docroot), JSON.stringify('/somewhere/else')));
    store = await open(s);
    assert.match(store.status().rebuildReason ?? '', /snapshot is of docroot/);
    await store.close();
  });

  it('folds the journal into a snapshot once it grows, and the result reads back the same', async () => {
    const s = await setup();
    let store = await open(s, { compactMinLines: 50 });
    await store.whenReady();
    for (let i = 0; i < 200; i++) store.record(`/p${i % 10}.html`, [`gen-${i}`, 'all']);
    // flush() waits for the journal writes and for the compaction they start.
    await store.flush();
    assert.ok(store.status().journalLines < 200, `journal compacted (${store.status().journalLines} lines)`);
    const saved = await readSavedIndex(s.stateDir, s.docroot);
    assert.equal(saved.index.files('all').size, 10, 'readSavedIndex sees it while the store is open');
    await store.close();
    store = await open(s);
    assert.deepEqual(await store.filesWith(['all']), Array.from({ length: 10 }, (_, i) => `/p${i}.html`).sort());
    assert.deepEqual(store.tagsOf('/p3.html'), ['gen-193', 'all']);
    await store.close();
  });

  it('a store that lands after close() makes the next start rebuild', async () => {
    const s = await setup();
    const store = await open(s);
    await store.whenReady();
    await store.close();
    store.record('/late.html', ['late']);
    await assert.rejects(fs.stat(path.join(store.dir, CLEAN)));
  });

  it('the index folder is named after the docroot and unique per real path', () => {
    const a = tagIndexDir('/state', '/var/cache/site-a');
    const b = tagIndexDir('/state', '/srv/site-a');
    assert.match(a, /^\/state\/tags\/site-a-[0-9a-f]{12}$/);
    assert.notEqual(a, b);
  });
});
