/**
 * `farmgate test-url` end to end, as a user runs it (contract section 1): the farm, the Sling
 * decomposition, the deciding filter rule with its index and file line, cacheable or not and
 * why, the cache file, fresh or stale with the deciding `.stat`; exit 0 allowed, 3 refused,
 * 1 on usage or config errors. Against a real temp docroot, which it must leave untouched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testUrlCommand } from '../../src/cli/test-url.js';
import { runCli } from '../helpers/cli-io.js';

/** In-process (fast), as the user runs it: same parsing, output and exit code. */
async function run(args: string[]): Promise<{ status: number | undefined; stdout: string; stderr: string }> {
  const r = await runCli((program, io) => testUrlCommand(program, io), ['test-url', ...args]);
  return { status: r.code, stdout: r.out, stderr: r.err };
}

/** One real process, to see the command wired into the farmgate CLI and its exit status. */
const cli = path.resolve('src/cli/index.ts');
const tsx = import.meta.resolve('tsx');
const spawnCli = (args: string[]) => spawnSync(process.execPath, ['--import', tsx, cli, 'test-url', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

const YAML = (docroot: string) => `farms:
  - name: site-a
    virtualhosts: ["site-a.local", "*.site-a.com"]
    docroot: ${docroot}
    renders: [{ url: "http://127.0.0.1:4503" }]
    filter:
      - deny: { url: "/**" }
      - allow: { method: [GET, HEAD], path: "/content/site-a/**" }
      - deny: { selectors: { regex: "[0-9-]+" } }
      - allow: { url: "/etc.clientlibs/**" }
    cache:
      statfileslevel: 2
      rules:
        - allow: "/**"
        - deny: "/content/site-a/private/**"
      enableTTL: true
    flushRoutes: ["/content/site-a/**"]
  - name: open
    virtualhosts: ["open.local"]
    docroot: ${docroot}-open
    renders: [{ url: "http://127.0.0.1:4503" }]
`;

/** Every name under a folder with its mtime: what "changes nothing" compares. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      const st = await fs.lstat(p);
      out.push(`${path.relative(dir, p)} ${st.mtimeMs}`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

describe('farmgate test-url', () => {
  let dir: string;
  let docroot: string;
  let config: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-test-url-'));
    docroot = path.join(dir, 'docroot');
    config = path.join(dir, 'farmgate.yaml');
    await fs.writeFile(config, YAML(docroot));
    const site = path.join(docroot, 'content/site-a');
    await fs.mkdir(site, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    const older = new Date(Date.now() - 120_000);
    // en.html: cached after the last flush; de.html: before it (stale).
    await fs.writeFile(path.join(site, 'en.html'), '<p>en</p>');
    await fs.writeFile(path.join(site, 'en.html.h'), JSON.stringify({ v: 1, headers: [['content-type', 'text/html']], tags: ['page-en', 'nav'] }));
    await fs.writeFile(path.join(site, 'de.html'), '<p>de</p>');
    await fs.utimes(path.join(site, 'de.html'), older, older);
    await fs.writeFile(path.join(docroot, 'content/.stat'), '');
    await fs.utimes(path.join(docroot, 'content/.stat'), old, old);
    // A .ttl in the past.
    await fs.writeFile(path.join(site, 'ttl.html'), 'x');
    await fs.writeFile(path.join(site, 'ttl.html.ttl'), '');
    await fs.utimes(path.join(site, 'ttl.html.ttl'), old, old);
    // A symlink standing where a cached file would be, pointing outside.
    await fs.writeFile(path.join(dir, 'secret.html'), 'secret');
    await fs.symlink(path.join(dir, 'secret.html'), path.join(site, 'link.html'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('a cached, fresh page: farm, Sling parts, the deciding rule with its line, cacheable, the file, fresh with its .stat, tags; exit 0', async () => {
    const r = await run(['--config', config, 'http://site-a.local/content/site-a/en.html']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'GET /content/site-a/en.html  Host: site-a.local');
    assert.equal(lines[1], '  farm        site-a (virtualhost "site-a.local")');
    assert.equal(lines[2], '  path        /content/site-a/en.html  →  path /content/site-a/en, selectors "", extension "html", suffix ""');
    assert.equal(lines[3], `  filter      allowed by farms.0.filter.1 (${config}:8): { allow: { method: [ GET, HEAD ], path: /content/site-a/** } }`);
    assert.equal(lines[4], `  cacheable   yes; farms.0.cache.rules.0 (${config}:14): { allow: /** }`);
    assert.match(lines[5]!, new RegExp(`^  cache file  ${docroot}/content/site-a/en\\.html \\(9 bytes, stored \\d{4}-`));
    assert.match(lines[6]!, new RegExp(`^  freshness   fresh \\(HIT\\): nearest \\.stat ${docroot}/content/\\.stat \\(.*\\); cache\\.invalidate lets it go stale \\(farms\\.0\\.cache\\.invalidate\\.1 \\(a default\\): \\{ allow: /\\*\\*/\\*\\.html \\}\\)$`));
    assert.equal(lines[7], '  tags        page-en nav');
    assert.equal(lines[8], '→ allowed (exit 0)');
  });

  it('stale: the nearest .stat is newer than the file', async () => {
    const r = await run(['--config', config, 'http://site-a.local/content/site-a/de.html']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, new RegExp(`freshness   stale: nearest \\.stat ${docroot}/content/\\.stat \\(.*\\) is not older than the file, and cache\\.invalidate lets it go stale`));
    assert.match(r.stdout, /tags        none/);
  });

  it('stale by its .ttl (enableTTL)', async () => {
    const r = await run(['--config', config, 'http://site-a.local/content/site-a/ttl.html']);
    assert.match(r.stdout, /freshness   stale: its \.ttl expired at \d{4}-/);
  });

  it('not cached yet: a MISS, with the .stat that will govern it', async () => {
    const r = await run(['--config', config, 'http://site-a.local/content/site-a/new.html']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /cache file  .*\/content\/site-a\/new\.html \(not cached\)/);
    assert.match(r.stdout, /freshness   would be fetched from a render \(MISS\); nearest \.stat /);
  });

  it('denied by the filter: the deny rule, its index and line; exit 3', async () => {
    const r = await run(['--config', config, 'http://www.site-a.com/content/site-a/en.2024.html']);
    assert.equal(r.status, 3);
    assert.match(r.stdout, /farm        site-a \(virtualhost "\*\.site-a\.com"\)/);
    assert.match(r.stdout, /selectors "2024", extension "html"/);
    assert.ok(r.stdout.includes(`filter      denied (404) by farms.0.filter.2 (${config}:9): { deny: { selectors: { regex: '[0-9-]+' } } }`), r.stdout);
    assert.match(r.stdout, /→ refused with 404: denied by the filter \(exit 3\)/);
  });

  it('no rule matches: denied, and it says so; the deny-all first rule decides other paths', async () => {
    const r = await run(['--config', config, '/libs/x.html', '--header', 'Host: site-a.local']);
    assert.equal(r.status, 3);
    assert.ok(r.stdout.includes(`denied (404) by farms.0.filter.0 (${config}:7): { deny: { url: /** } }`), r.stdout);
  });

  it('not cacheable, with the reason (and the cache rule that refused it)', async () => {
    const q = await run(['--config', config, 'http://site-a.local/content/site-a/en.html?q=1']);
    assert.equal(q.status, 0);
    assert.match(q.stdout, /cacheable   no: request contained a query string/);
    assert.doesNotMatch(q.stdout, /cache file/);
    const rule = await run(['--config', config, 'http://site-a.local/content/site-a/private/a.html']);
    assert.ok(rule.stdout.includes(`cacheable   no: request URL is missing in cache rules; farms.0.cache.rules.1 (${config}:15): { deny: /content/site-a/private/** }`), rule.stdout);
    const auth = await run(['--config', config, 'http://site-a.local/content/site-a/en.html', '--header', 'Authorization: Basic eDp5']);
    assert.match(auth.stdout, /cacheable   no: request contains authorization/);
    const cookie = await run(['--config', config, 'http://site-a.local/content/site-a/en.html', '-H', 'Cookie: a=1; login-token=x']);
    assert.match(cookie.stdout, /cacheable   no: request contains authorization/);
    const post = await run(['--config', config, 'http://site-a.local/content/site-a/en.html', '--method', 'post']);
    assert.equal(post.status, 3, 'POST is not allowed by the filter');
    assert.match(post.stdout, /^POST /);
  });

  it('the core cases of contract section 3: clientlibs are cacheable; a symlink at the file is not followed', async () => {
    const clientlib = await run(['--config', config, 'http://site-a.local/etc.clientlibs/site/base.min.css']);
    assert.equal(clientlib.status, 0);
    assert.match(clientlib.stdout, /path \/etc, selectors "", extension "clientlibs", suffix "\/site\/base\.min\.css"/);
    assert.match(clientlib.stdout, /cacheable   yes/);
    const link = await run(['--config', config, 'http://site-a.local/content/site-a/link.html']);
    assert.match(link.stdout, /\(not cached: a symlink stands there\)/);
    assert.doesNotMatch(link.stdout, /secret/);
  });

  it('no filter: allowed, and it says so; no farm: exit 3', async () => {
    const open = await run(['--config', config, 'http://open.local/anything.html']);
    assert.equal(open.status, 0);
    assert.match(open.stdout, /filter      allowed: the farm has no filter/);
    const none = await run(['--config', config, 'http://nobody.local/x.html']);
    assert.equal(none.status, 3);
    assert.match(none.stdout, /farm        none: no farm's virtualhosts match "nobody\.local"/);
    assert.match(none.stdout, /→ refused with 404: no farm's virtualhosts match the Host \(exit 3\)/);
    const bad = await run(['--config', config, 'http://site-a.local/content/../etc/passwd']);
    assert.equal(bad.status, 3);
    assert.match(bad.stdout, /→ refused with 400: the path cannot name a document/);
    const internal = await run(['--config', config, 'http://site-a.local/content/.stat']);
    assert.equal(internal.status, 3);
  });

  it('--json: the same report as data', async () => {
    const r = await run(['--config', config, 'http://site-a.local/content/site-a/en.html', '--json']);
    assert.equal(r.status, 0);
    const j = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(j.verdict, 'cache');
    assert.equal(j.allowed, true);
    assert.deepEqual(j.filter.rule, { index: 1, path: 'farms.0.filter.1', at: `${config}:8`, allow: true, rule: { allow: { method: ['GET', 'HEAD'], path: '/content/site-a/**' } } });
    assert.equal(j.cache.freshness, 'fresh');
    assert.deepEqual(j.cache.tags, ['page-en', 'nav']);
  });

  it('changes nothing in the docroot', async () => {
    const before = await snapshot(dir);
    for (const u of ['/content/site-a/en.html', '/content/site-a/new/deep/page.html', '/content/site-b/x.html']) {
      await run(['--config', config, `http://site-a.local${u}`]);
    }
    assert.deepEqual(await snapshot(dir), before);
  });

  it('as a process: wired into the farmgate CLI; exit 0 allowed, 3 denied', () => {
    assert.equal(spawnCli(['--config', config, 'http://site-a.local/content/site-a/en.html']).status, 0);
    const denied = spawnCli(['--config', config, 'http://site-a.local/libs/x.html']);
    assert.equal(denied.status, 3);
    assert.match(denied.stdout, /→ refused with 404: denied by the filter \(exit 3\)/);
  });

  it('usage and config errors: exit 1 with what to do', async () => {
    const noHost = await run(['--config', config, '/content/site-a/en.html']);
    assert.equal(noHost.status, 1);
    assert.match(noHost.stderr, /no Host: give an absolute URL \(http:\/\/site\.example\/content\/site-a\/en\.html\) or --header 'Host: site\.example'/);
    const badHeader = await run(['--config', config, 'http://site-a.local/', '--header', 'nocolon']);
    assert.equal(badHeader.status, 1);
    const badUrl = await run(['--config', config, 'ftp://x/y']);
    assert.equal(badUrl.status, 1);
    const broken = path.join(dir, 'broken.yaml');
    await fs.writeFile(broken, YAML(docroot).replace('{ regex: "[0-9-]+" }', '{ regex: "[0-9-" }'));
    const bad = await run(['--config', broken, 'http://site-a.local/']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:9:\\d+ farms\\.0\\.filter\\.2\\.deny\\.selectors\\.regex: invalid regex`));
  });
});
