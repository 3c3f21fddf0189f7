/**
 * Attack: flush path traversal. A flush names the files to delete in a header (`CQ-Handle`, or
 * `CQ-Path` when the handle is missing). An attacker who can reach the flush endpoint sends
 * `CQ-Action: Delete` with a handle such as `/content/../../sentinel`, or the same with the dots
 * or slashes percent-encoded (`%2e%2e`, `..%2f`), backslashes, or a NUL byte to cut the path
 * short, hoping the docroot join lands outside the docroot and deletes (or creates `.stat`
 * files in) a folder beside it. Every such handle must be refused with 400 before anything is
 * touched; a folder beside the docroot stays byte-for-byte as it was.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeConfig, seed, tempDir, tree } from '../helpers/flush-fixtures.js';
import { sendFlush, startFlushServer, type FlushServer } from '../helpers/flush-server.js';

const DOC_FILES = ['/content/site/en.html', '/content/etc.html', '/etc/passwd.html'];
const SENTINEL_FILES = ['/keep.html', '/content/keep.html'];
let base: string;
let docroot: string;
let sentinel: string;
let srv: FlushServer;

before(async () => {
  base = await tempDir();
  docroot = path.join(base, 'docroot');
  sentinel = path.join(base, 'sentinel');
  await seed(docroot, DOC_FILES);
  await seed(sentinel, SENTINEL_FILES);
  srv = await startFlushServer(
    makeConfig({ farms: [{ name: 'site', docroot, statfileslevel: 4, flushRoutes: ['/**'] }], unrouted: 'reject' }),
  );
});
after(async () => {
  await srv.close();
  await fs.rm(base, { recursive: true, force: true });
});

async function assertNothingTouched() {
  assert.deepEqual(await tree(sentinel), SENTINEL_FILES.slice().sort(), 'the sentinel beside the docroot is untouched');
  assert.deepEqual(await tree(docroot), DOC_FILES.slice().sort(), 'nothing in the docroot changed either');
  assert.deepEqual((await fs.readdir(base)).sort(), ['docroot', 'sentinel'], 'nothing created beside the docroot');
}

const ATTACKS = [
  '/content/../etc',
  '/../sentinel',
  '/content/../../sentinel',
  '/content/%2e%2e/x',
  '/content/%2e%2e/%2e%2e/sentinel',
  '/%2E%2E/sentinel',
  '/content/..%2fx',
  '/content/..%2f..%2fsentinel',
  '/content/%2e%2e%2f%2e%2e%2fsentinel',
  '/content\\..\\..\\sentinel',
  '/content/%5c..%5c..%5csentinel',
  '/content/x%00/../../sentinel',
  '/content/x%00.html',
  '/content/%0a/../sentinel',
  '/content/./../sentinel',
  '../sentinel',
  'sentinel',
  '/content/%zz/../sentinel',
];

describe('flush path traversal', () => {
  for (const handle of ATTACKS) {
    for (const header of ['CQ-Handle', 'CQ-Path'] as const) {
      it(`Delete with ${header}: ${JSON.stringify(handle)} → 400, nothing touched`, async () => {
        const r = await sendFlush(srv, { 'CQ-Action': 'Delete', [header]: handle });
        assert.equal(r.status, 400, r.text);
        assert.match(r.text, /invalid CQ-(Handle|Path)/);
        await assertNothingTouched();
      });
    }
  }

  it('a valid handle with a traversal routing key is refused too', async () => {
    const r = await sendFlush(srv, { 'CQ-Action': 'Delete', 'CQ-Handle': '/content/site/en', 'CQ-Path': '/content/../../sentinel' });
    assert.equal(r.status, 400);
    await assertNothingTouched();
  });

  it('decoded once: %252e%252e is the literal folder name "%2e%2e" inside the docroot, never a parent', async () => {
    const r = await sendFlush(srv, { 'CQ-Action': 'Delete', 'CQ-Handle': '/content/%252e%252e/%252e%252e/sentinel' }, { json: true });
    assert.equal(r.status, 200);
    assert.deepEqual(await tree(sentinel), SENTINEL_FILES.slice().sort());
    assert.deepEqual((await fs.readdir(base)).sort(), ['docroot', 'sentinel']);
    // Its .stat files were created inside the docroot, under the literal names.
    assert.ok((await tree(docroot)).includes('/content/%2e%2e/%2e%2e/.stat'));
  });
});
