/**
 * Fuzzing the flush endpoint and the URL → docroot mapping (fast-check, seeded, bounded).
 *
 * The attack: a flush endpoint that deletes files and touches .stat files is one encoding trick
 * away from deleting outside its docroot (`..` in percent-, double- or mixed encodings,
 * backslashes, NUL, overlong or odd slashes, a symlink inside the docroot pointing out).
 * Properties: no file outside the docroots is created, changed or deleted (a sentinel tree is
 * checked after every case); the process stays up; every answer is a 2xx or a 4xx with a reason.
 * `FARMGATE_FUZZ_RUNS` sets the number of cases (10,000 for the full run; a smaller count here).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { joinDocroot, toDocPath } from '../../src/cache/doc-path.js';
import { startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const RUNS = Number(process.env.FARMGATE_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FARMGATE_FUZZ_SEED ?? 20261122);

const segment = fc.oneof(
  fc.constantFrom('..', '.', '%2e%2e', '%2E%2e', '.%2e', '%252e%252e', '..%2f', '%2f', '%5c', '\\', '%00', '%0a', '', 'content', 'site', 'en', 'link', 'sentinel', 'x.html', 'a.b.c', '_jcr_content', '%c0%ae%c0%ae', '\u2025', '~'),
  fc.string({ maxLength: 12 }),
);
const hostilePath = fc
  .tuple(fc.constantFrom('/', '', '//', '\\', '/./', '/../'), fc.array(segment, { maxLength: 8 }), fc.constantFrom('/', '//', '\\', '/%2f'))
  .map(([lead, segs, sep]) => lead + segs.join(sep));
const action = fc.oneof(fc.constantFrom('Activate', 'Deactivate', 'Delete', 'Test', 'activate', 'DELETE', 'Expire', ''), fc.string({ maxLength: 10 }));

/** Header values must be bytes Node will send; others are dropped (the client cannot send them). */
const headerSafe = (v: string) => v.replace(/[^\t\x20-\x7e\x80-\xff]/g, '');

async function snapshot(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const e of (await fs.readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const st = await fs.lstat(p);
      h.update(`${p}:${st.mtimeMs}:${st.size};`);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) h.update(await fs.readFile(p));
    }
  };
  await walk(dir);
  return h.digest('hex');
}

function send(url: string, headers: Record<string, string>, body: string, method: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: '/dispatcher/invalidate.cache', method, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('fuzz: flush endpoint and path mapping', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  let sentinel: string;
  let before0: string;
  before(async () => {
    render = await startRender();
    fg = await startFarmgate(`server:
  listen: "127.0.0.1:0"
farms:
  - name: site
    virtualhosts: ["site.local"]
    docroot: ./docroot
    renders:
      - url: ${render.url}
    cache:
      statfileslevel: 4
    flushRoutes: ["/**"]
`);
    sentinel = path.join(fg.dir, 'sentinel');
    await fs.mkdir(path.join(sentinel, 'content/site'), { recursive: true });
    await fs.writeFile(path.join(sentinel, 'content/site/en.html'), 'must survive');
    await fs.writeFile(path.join(sentinel, '.stat'), '');
    const docroot = fg.docroot('site');
    await fs.mkdir(path.join(docroot, 'content/site'), { recursive: true });
    await fs.writeFile(path.join(docroot, 'content/site/en.html'), 'cached');
    await fs.symlink(sentinel, path.join(docroot, 'content/link'));
    await fs.symlink(sentinel, path.join(docroot, 'link'));
    before0 = await snapshot(sentinel);
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it(`flush endpoint: ${RUNS} hostile flushes leave the sentinel tree untouched and answer 2xx/4xx`, { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        action,
        hostilePath,
        fc.option(hostilePath, { nil: undefined }),
        fc.option(fc.constantFrom('ResourceOnly', 'resourceonly', 'All', ''), { nil: undefined }),
        fc.oneof(fc.constant(''), fc.array(hostilePath, { maxLength: 3 }).map((l) => l.join('\n')), fc.string({ maxLength: 200 })),
        fc.constantFrom('GET', 'POST'),
        async (act, handle, cqPath, scope, body, method) => {
          const headers: Record<string, string> = { host: 'site.local', 'cq-action': headerSafe(act), 'cq-handle': headerSafe(handle) };
          if (cqPath !== undefined) headers['cq-path'] = headerSafe(cqPath);
          if (scope !== undefined) headers['cq-action-scope'] = scope;
          if (body) headers['content-type'] = 'text/plain';
          const r = await send(fg.url, headers, method === 'POST' ? body : '', method);
          assert.ok((r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500), `status ${r.status}: ${r.body}`);
          if (r.status >= 400) assert.ok(r.body.trim().length > 0, 'a 4xx says why');
          assert.equal(await snapshot(sentinel), before0, `sentinel changed by ${JSON.stringify(headers)}`);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    const alive = await fg.request('/content/site/ok.html', { host: 'site.local' });
    assert.equal(alive.status, 200, 'the process stays up');
  });

  it(`path mapping: ${RUNS * 10} random paths never map outside the docroot`, () => {
    const docroot = '/srv/cache/site';
    fc.assert(
      fc.property(fc.oneof(hostilePath, fc.string({ maxLength: 40 }).map((s) => '/' + s)), (raw) => {
        const r = toDocPath(raw);
        if (!r.ok) return;
        const full = joinDocroot(docroot, r.docPath);
        assert.ok(full === docroot || full.startsWith(docroot + '/'), `${raw} → ${full}`);
        // Oracle: an accepted path is already in normal form (no `.`, `..` or `//` to resolve).
        assert.equal(path.posix.normalize(r.docPath), r.docPath);
        assert.ok(!r.docPath.split('/').includes('..'));
      }),
      { numRuns: RUNS * 10, seed: SEED },
    );
  });
});
