/**
 * `farmgate check` end to end, as a user runs it: exit 0 with a summary, or exit 1 with every
 * error as `FILE:LINE:COL path.to.key: message`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const cli = path.resolve('src/cli/index.ts');
/** tsx by absolute URL, so the CLI can run from any working directory. */
const tsx = import.meta.resolve('tsx');
const run = (args: string[], env: Record<string, string> = {}, cwd?: string) =>
  spawnSync(process.execPath, ['--import', tsx, cli, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });

describe('farmgate check', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-check-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  const write = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await fs.writeFile(file, text);
    return file;
  };

  it('a valid config → exit 0 with a summary', () => {
    const r = run(['check', '--config', 'config/farmgate.yaml']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok config\/farmgate\.yaml: 2 farm\(s\)/);
    assert.match(r.stdout, /farm site-a: hosts site-a\.local \*\.site-a\.com/);
    assert.match(r.stdout, /statfileslevel 3/);
  });

  it('unknown key, wrong type, bad glob, missing ${VAR} → exit 1, one line each', async () => {
    const file = await write(
      'bad.yaml',
      `server:
  listne: "127.0.0.1:8080"
farms:
  - name: site-a
    virtualhosts: ["site-a.local"]
    docroot: \${CACHE_ROOT}/site-a
    renders:
      - url: http://127.0.0.1:4503
        timeoutMs: fast
    cache:
      rules:
        - allow: "/content/{a,b/**"
`,
    );
    const r = run(['check', '--config', file]);
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines.slice(0, 4), [
      `${file}:2:3 server.listne: unknown key "listne"; did you mean "listen"?`,
      `${file}:6:14 farms.0.docroot: environment variable \${CACHE_ROOT} is not set`,
      `${file}:9:20 farms.0.renders.0.timeoutMs: expected number, got string "fast"`,
      `${file}:12:18 farms.0.cache.rules.0.allow: invalid glob "/content/{a,b/**": Missing closing: "}" - use "\\\\}" to match literal characters`,
    ]);
    assert.match(lines[4]!, /4 problem\(s\)/);
  });

  it('a bad regex in a rule value → exit 1 with FILE:LINE:COL at the regex', async () => {
    const file = await write(
      'regex.yaml',
      `farms:
  - name: site-a
    virtualhosts: ["site-a.local"]
    docroot: ./cache
    renders: [{ url: "http://127.0.0.1:4503" }]
    filter:
      - deny: { url: "/**" }
      - allow: { url: "/content/**", selectors: { regex: "(feed|rss" } }
`,
    );
    const r = run(['check', '--config', file]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.split('\n')[0], `${file}:8:58 farms.0.filter.1.allow.selectors.regex: invalid regex "(feed|rss": Unterminated group`);
  });

  it('cache.headers naming what farmgate sets itself: exit 0, a warning with FILE:LINE:COL', async () => {
    const file = await write(
      'headers.yaml',
      `farms:
  - name: site-a
    virtualhosts: ["site-a.local"]
    docroot: ./cache
    renders: [{ url: "http://127.0.0.1:4503" }]
    cache:
      headers:
        - Content-Type
        - Content-Length
        - Transfer-Encoding
`,
    );
    const r = run(['check', '--config', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok /);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `${file}:9:11 farms.0.cache.headers.1: warning: Content-Length is set by farmgate itself on every response, so it is never stored or replayed from the .h file; remove it from cache.headers`,
      `${file}:10:11 farms.0.cache.headers.2: warning: Transfer-Encoding is set by farmgate itself on every response, so it is never stored or replayed from the .h file; remove it from cache.headers`,
    ]);
  });

  it('FILE is printed as given (relative stays relative)', async () => {
    await write('rel.yaml', 'farms: []\n');
    const r = run(['check', '--config', 'rel.yaml'], {}, dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rel\.yaml:1:8 farms: /);
  });

  it('a missing file → exit 1 with a message', () => {
    const r = run(['check', '--config', path.join(dir, 'nope.yaml')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot read config/);
  });

  it('--help describes the command', () => {
    const r = run(['check', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--config <file>/);
  });
});
