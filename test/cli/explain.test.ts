/**
 * `farmgate explain` end to end, in-process: a real config file, a real docroot shaped like the
 * reference's worked example A, and a check that nothing on disk changed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { explainCommand } from '../../src/cli/explain.js';
import type { ExplainReport } from '../../src/flush/explain.js';
import { runCli } from '../helpers/cli-io.js';
import { configYaml, seed, tempDir, tree } from '../helpers/flush-fixtures.js';

const FILES = [
  '/content/site/en.html',
  '/content/site/de.html',
  '/content/site/en/products.html',
  '/content/site/en/products.html.h',
  '/content/site/en/products/shoes.html',
  '/content/site/en/products/_jcr_content/par.json',
  '/content/site/de/.stat',
  '/content/site/de/about.html',
  '/content/dam/site/logo.png',
  '/etc.clientlibs/site/base.css',
];
let base: string;
let docroot: string;
let file: string;
let snapshot: string[];

before(async () => {
  base = await tempDir();
  docroot = path.join(base, 'cache/site');
  await seed(docroot, FILES);
  file = path.join(base, 'farmgate.yaml');
  await fs.writeFile(
    file,
    configYaml({
      farms: [
        { name: 'site', docroot: 'cache/site', statfileslevel: 3, flushRoutes: ['/content/site/**', '/content/dam/**'] },
        { name: 'other', docroot: 'cache/other', statfileslevel: 1, flushRoutes: ['/content/other/**'] },
      ],
    }),
  );
  snapshot = await tree(docroot);
});
after(async () => fs.rm(base, { recursive: true, force: true }));

const explain = (...args: string[]) => runCli(explainCommand, ['explain', '--config', file, ...args]);

async function assertUnchanged() {
  assert.deepEqual(await tree(docroot), snapshot, 'explain changes nothing');
  assert.deepEqual((await fs.readdir(path.join(base, 'cache'))).sort(), ['site'], 'not even a missing docroot is created');
}

describe('farmgate explain', () => {
  it('worked example A: farms and why, .stat files, deletes, stale count and sample', async () => {
    const r = await explain('--handle', '/content/site/en/products');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Activate \/content\/site\/en\/products/);
    assert.match(r.out, /farm site: flushRoutes glob "\/content\/site\/\*\*" matches/);
    assert.match(r.out, /statfileslevel 3/);
    assert.match(r.out, /\.stat files touched \(4\):\n {4}\/\.stat \(created\)\n {4}\/content\/\.stat \(created\)\n {4}\/content\/site\/\.stat \(created\)\n {4}\/content\/site\/en\/\.stat \(created\)/);
    assert.match(r.out, /deleted \(3\):\n {4}\/content\/site\/en\/products\.html\n {4}\/content\/site\/en\/products\.html\.h\n {4}\/content\/site\/en\/products\/_jcr_content\/ \(folder, 1 file\)/);
    assert.match(r.out, /go stale \(next request re-fetches\): 3\n {4}\/content\/site\/de\.html\n {4}\/content\/site\/en\/products\/shoes\.html\n {4}\/content\/site\/en\.html\n/);
    assert.match(r.out, /farm other: not routed \(flushRoutes \/content\/other\/\*\*\)/);
    await assertUnchanged();
  });

  it('--json, Delete: the folder goes, fewer files go stale', async () => {
    const r = await explain('--handle', '/content/site/en/products', '--action', 'delete', '--json');
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as ExplainReport;
    assert.equal(report.action, 'Delete');
    assert.deepEqual(report.farms.map((f) => [f.farm, f.route]), [['site', '/content/site/**']]);
    const farm = report.farms[0]!;
    assert.deepEqual(farm.deletes.at(-1), { docPath: '/content/site/en/products', kind: 'folder', files: 2 });
    assert.deepEqual(farm.stale, { count: 2, sample: ['/content/site/de.html', '/content/site/en.html'], truncated: false });
    assert.deepEqual(farm.touches.map((t) => [t.stat, t.exists]), [
      ['/.stat', false],
      ['/content/.stat', false],
      ['/content/site/.stat', false],
      ['/content/site/en/.stat', false],
    ]);
    await assertUnchanged();
  });

  it('ResourceOnly: no .stat touched, nothing goes stale; a DAM handle leaves site pages alone', async () => {
    const ro = JSON.parse((await explain('--handle', '/content/site/en/products', '--scope', 'ResourceOnly', '--json')).out) as ExplainReport;
    assert.deepEqual(ro.farms[0]!.touches, []);
    assert.equal(ro.farms[0]!.stale.count, 0);
    const dam = JSON.parse((await explain('--handle', '/content/dam/site/logo.png', '--json')).out) as ExplainReport;
    assert.deepEqual(dam.farms[0]!.deletes, [{ docPath: '/content/dam/site/logo.png', kind: 'file', files: 1 }]);
    // No .stat exists yet, so the new /.stat governs every page: all *.html outside de/ go stale.
    assert.equal(dam.farms[0]!.stale.count, 4);
    await assertUnchanged();
  });

  it('unrouted: says which behaviour applies', async () => {
    const r = await explain('--handle', '/content/nowhere/x');
    assert.equal(r.code, 0);
    assert.match(r.out, /no farm routes \/content\/nowhere\/x: flush\.unrouted is ignore → 200, nothing done/);
  });

  it('a bad handle or action: exit 1 with a message', async () => {
    const bad = await explain('--handle', '/content/../etc');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /invalid handle "\/content\/\.\.\/etc": "\.\." segment/);
    const action = await explain('--handle', '/content', '--action', 'Expire');
    assert.equal(action.code, 1);
    assert.match(action.err, /unknown action "Expire"/);
  });

  it('a bad config: exit 1, every problem as FILE:LINE:COL path: message', async () => {
    const badFile = path.join(base, 'bad.yaml');
    await fs.writeFile(badFile, 'farms:\n  - name: Bad_Name\n    virtualhosts: ["x"]\n    docroot: d\n    renders: []\n    bogus: 1\n');
    const r = await runCli(explainCommand, ['explain', '--config', badFile, '--handle', '/content']);
    assert.equal(r.code, 1);
    const lines = r.err.trim().split('\n');
    assert.ok(lines.length >= 3, r.err);
    for (const line of lines) assert.match(line, new RegExp(`^${badFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+ farms\\.0\\.\\w+: `));
    assert.ok(lines.some((l) => l.includes(':6:5 farms.0.bogus: unknown key "bogus"')), r.err);
  });
});
