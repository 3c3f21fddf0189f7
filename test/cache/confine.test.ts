/**
 * Confinement to the docroot's real path (contract section 2), the synchronous checks of the
 * flush and fill paths: real folders, symlinks pointing inside (followed) or outside (refused),
 * files on the way, the per-turn trust and its end, mkdir -p that never leaves the docroot.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Confinement } from '../../src/cache/confine.js';
import { tempDir } from '../helpers/farmgate.js';

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('Confinement (synchronous checks)', () => {
  let dir: string;
  let docroot: string;
  let outside: string;
  let c: Confinement;
  before(async () => {
    dir = await tempDir('farmgate-confine-');
    docroot = path.join(dir, 'docroot');
    outside = path.join(dir, 'outside');
    await fs.mkdir(path.join(docroot, 'content/site/en'), { recursive: true });
    await fs.mkdir(path.join(outside, 'x'), { recursive: true });
    await fs.writeFile(path.join(docroot, 'content/page.html'), 'a file');
    await fs.symlink(path.join(docroot, 'content/site'), path.join(docroot, 'content/alias'));
    await fs.symlink(outside, path.join(docroot, 'content/out'));
    c = await Confinement.open(docroot);
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('a chain of real folders, and the docroot itself, are inside', () => {
    assert.equal(c.safeDirSync(docroot), docroot);
    assert.equal(c.safeDirSync(path.join(docroot, 'content/site/en')), path.join(docroot, 'content/site/en'));
  });

  it('a symlink pointing inside is followed; one pointing outside, a missing folder or a file on the way is refused', () => {
    assert.equal(c.safeDirSync(path.join(docroot, 'content/alias/en')), path.join(docroot, 'content/site/en'));
    assert.equal(c.safeDirSync(path.join(docroot, 'content/out')), undefined);
    assert.equal(c.safeDirSync(path.join(docroot, 'content/out/x')), undefined);
    assert.equal(c.safeDirSync(path.join(docroot, 'content/missing')), undefined);
    assert.equal(c.safeDirSync(path.join(docroot, 'content/page.html')), undefined);
    assert.equal(c.safeDirSync(path.join(docroot, 'content/page.html/_jcr_content')), undefined);
  });

  it('a folder checked is trusted for the rest of the turn only, and not at all once the store moved a folder', async () => {
    const en = path.join(docroot, 'content/site/en');
    assert.equal(c.safeDirSync(en), en);
    // Another process swaps the folder for a symlink leaving the docroot.
    await fs.rename(en, path.join(dir, 'en-moved'));
    await fs.symlink(outside, en);
    c.forgetVerified(); // what the store does whenever it renames or deletes a folder itself
    assert.equal(c.safeDirSync(en), undefined, 'seen at once after forgetVerified');
    await fs.rm(en);
    await fs.rename(path.join(dir, 'en-moved'), en);
    assert.equal(c.safeDirSync(en), en);
    await fs.rename(en, path.join(dir, 'en-moved'));
    await fs.symlink(outside, en);
    await nextTurn();
    assert.equal(c.safeDirSync(en), undefined, 'seen in the next turn of the event loop');
    await fs.rm(en);
    await fs.rename(path.join(dir, 'en-moved'), en);
  });

  it('ensureDir makes folders inside, refuses below a symlink leaving the docroot, reports a file on the way', async () => {
    await nextTurn();
    assert.equal(c.ensureDir(path.join(docroot, 'content/site/de/news')), 'ok');
    assert.ok((await fs.stat(path.join(docroot, 'content/site/de/news'))).isDirectory());
    assert.equal(c.ensureDir(path.join(docroot, 'content/out/new')), 'refused');
    assert.deepEqual(await fs.readdir(outside), ['x'], 'nothing made outside');
    assert.equal(c.ensureDir(path.join(docroot, 'content/page.html/_jcr_content')), 'collision');
  });

  it('a docroot configured through a symlink is checked by its real path every time', async () => {
    const link = path.join(dir, 'docroot-link');
    await fs.symlink(docroot, link);
    const viaLink = await Confinement.open(link);
    assert.equal(viaLink.safeDirSync(path.join(link, 'content/site')), path.join(docroot, 'content/site'));
    assert.equal(viaLink.safeDirSync(path.join(link, 'content/out')), undefined);
  });
});
